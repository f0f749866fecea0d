import Foundation
import Logging
import MeshControl
import MeshControlPlane
import MeshIdentity
import MeshModel
import MeshRuntime
import MeshShell
import MeshTestCA
import MeshTesting
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// A manifest directory, `ControllerServer` on .1:6060 of a test address block (pods from .10,
/// services from .100 of the same block), and optionally sidecars for `demo/client-0` and
/// `demo/echo-0` fetching their configs from it, with the echo app on echo-0's address.
final class ControlledMesh: @unchecked Sendable {
    static let apps = """
    apiVersion: v1
    kind: ServiceAccount
    metadata: {name: client, namespace: demo}
    ---
    apiVersion: v1
    kind: ServiceAccount
    metadata: {name: echo, namespace: demo}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: echo, namespace: demo}
    spec:
      selector: {app: echo}
      ports: [{name: web, port: 8080}]
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: client, namespace: demo}
    spec:
      selector: {matchLabels: {app: client}}
      template:
        metadata: {labels: {app: client}}
        spec:
          serviceAccountName: client
          containers: [{name: app, image: demo}]
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: echo, namespace: demo}
    spec:
      selector: {matchLabels: {app: echo}}
      template:
        metadata: {labels: {app: echo}}
        spec:
          serviceAccountName: echo
          containers: [{name: app, image: demo, ports: [{containerPort: 8080}]}]
    """

    static let routes = """
    apiVersion: specs.smi-spec.io/v1alpha4
    kind: HTTPRouteGroup
    metadata: {name: echo-routes, namespace: demo}
    spec:
      matches:
      - name: all
        pathRegex: ".*"
        methods: ["*"]
    """

    static let target = """
    apiVersion: access.smi-spec.io/v1alpha3
    kind: TrafficTarget
    metadata: {name: client-to-echo, namespace: demo}
    spec:
      destination: {kind: ServiceAccount, name: echo, namespace: demo}
      rules: [{kind: HTTPRouteGroup, name: echo-routes, matches: [all]}]
      sources: [{kind: ServiceAccount, name: client, namespace: demo}]
    """

    /// The mesh's addresses, held until `stop`.
    let block: LoopbackBlockLease
    let directory: URL
    let controllerHost: String
    var controller: ControllerServer?
    var client: SidecarProcess?
    var server: SidecarProcess?
    var app: EchoApp?
    let logger: Logger
    /// The controller's credential key, kept across controller restarts (as its state dir would).
    let credentials: CredentialAuthority

    init(block: LoopbackBlockLease, files: [String: String]) throws {
        self.block = block
        controllerHost = block.address(1)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mesh-controller-\(block.block)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var logger = Logger(label: "test.controller")
        logger.logLevel = .critical
        self.logger = logger
        credentials = try CredentialAuthority(keyBytes: (0..<32).map { _ in UInt8.random(in: 0...255) })
        for (name, text) in files { try write(name, text) }
    }

    var settings: ControllerSettings {
        ControllerSettings(
            host: controllerHost, port: 6060, meshNamespaces: ["demo"],
            addressPlan: AddressPlan(firstPod: AddressPlan.parse(block.address(10))!, firstService: AddressPlan.parse(block.address(100))!),
            pollInterval: .milliseconds(250), credentials: credentials)
    }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: directory.appendingPathComponent(name), options: .atomic)
    }

    func remove(_ name: String) throws {
        try FileManager.default.removeItem(at: directory.appendingPathComponent(name))
    }

    func startController() async throws {
        controller = try await ControllerServer.start(manifests: directory.path, settings: settings, logger: logger)
    }

    func stopController() async {
        await controller?.shutdown()
        controller = nil
    }

    func endpoint(_ pod: String) throws -> ControllerEndpoint {
        ControllerEndpoint(host: controllerHost, port: 6060, namespace: "demo", pod: pod, minBackoff: .milliseconds(50), maxBackoff: .milliseconds(400),
                           credential: .token(try token(.pod(namespace: "demo", name: pod))))
    }

    func token(_ subject: CredentialSubject) throws -> String {
        try mintToken(credentials, subject)
    }

    /// The credential a well-behaved caller of `path` holds: a config's or certificate's pod's
    /// own, else the operator's.
    func authorization(for path: String) throws -> [(String, String)] {
        let parts = path.split(separator: "?")[0].split(separator: "/").map(String.init)
        if parts.count == 4, parts[0] == "v1", parts[1] == "configs" || parts[1] == "certificates" {
            return [("authorization", "Bearer \(try token(.pod(namespace: parts[2], name: parts[3])))")]
        }
        return [("authorization", "Bearer \(try token(.operator))")]
    }

    /// The address the controller gave a pod.
    func podIP(_ pod: String) async throws -> String {
        let response = try await api("/v1/pods/demo/\(pod)")
        let value = try JSONValue(parsing: response.body)
        guard case .string(let ip)? = value["ip"] else { throw TestFailure("no ip for \(pod): \(response.body)") }
        return ip
    }

    /// mTLS files for a pod: a certificate from the shared test root for the identity the
    /// controller gave the pod's service account.
    func transport(_ pod: String) async throws -> PeerTransport {
        let value = try JSONValue(parsing: try await api("/v1/pods/demo/\(pod)").body)
        guard case .string(let identity)? = value["identity"] else { throw TestFailure("no identity for \(pod)") }
        try FileManager.default.createDirectory(at: certificatesDirectory, withIntermediateDirectories: true)
        return .mutualTLS(try MeshPair.certificates(for: identity, in: certificatesDirectory, name: pod))
    }

    /// Starts the echo app on echo-0's address and both sidecars on the controller.
    func startSidecars() async throws {
        let clientIP = try await podIP("client-0")
        let serverIP = try await podIP("echo-0")
        let app = EchoApp()
        try await app.start(host: serverIP, port: 8080)
        self.app = app
        server = try await SidecarProcess.start(controller: try endpoint("echo-0"), settings: SidecarSettings(podIP: serverIP, peerTransport: try await transport("echo-0")), logger: logger)
        client = try await SidecarProcess.start(controller: try endpoint("client-0"), settings: SidecarSettings(podIP: clientIP, peerTransport: try await transport("client-0")), logger: logger)
    }

    func api(_ path: String, timeout: TimeAmount = .seconds(5)) async throws -> MeshHTTPResponse {
        try await MeshHTTP.request(host: controllerHost, port: 6060, path: path, headers: try authorization(for: path), timeout: timeout)
    }

    /// Status of a request from the client app to echo through both sidecars; 0 when the client
    /// sidecar closed the connection without answering (no route).
    func call(_ path: String = "/hello") async -> Int {
        guard let client else { return -1 }
        let ip = client.driver.settings.podIP
        return (try? await MeshHTTP.request(host: ip, port: 15001, path: path, headers: [("host", "echo.demo:8080")], timeout: .seconds(3)).status) ?? 0
    }

    func stats(_ process: SidecarProcess?) async throws -> [String: UInt64] {
        guard let process else { return [:] }
        return parseStats(try await process.onLoop { $0.statsText() })
    }

    func stop() async {
        await client?.shutdown()
        await server?.shutdown()
        await app?.stop()
        await stopController()
        try? FileManager.default.removeItem(at: directory)
        try? FileManager.default.removeItem(at: certificatesDirectory)
        block.release()
    }

    var certificatesDirectory: URL {
        directory.deletingLastPathComponent().appendingPathComponent(directory.lastPathComponent + "-certs")
    }

    static func run(files: [String: String], sidecars: Bool = true, _ body: (ControlledMesh) async throws -> Void) async throws {
        let mesh = try ControlledMesh(block: try TestAddressBlock.lease(), files: files)
        do {
            try await mesh.startController()
            if sidecars { try await mesh.startSidecars() }
            try await body(mesh)
        } catch {
            await mesh.stop()
            throw error
        }
        await mesh.stop()
    }
}

/// A fresh token for `subject` from `credentials`.
func mintToken(_ credentials: CredentialAuthority, _ subject: CredentialSubject) throws -> String {
    var generator = SystemRandomNumberGenerator()
    return try credentials.mint(subject, using: &generator).token
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every 100 ms until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

@Suite(.timeLimit(.minutes(1)))
struct ControllerServerTests {
    static let smiFiles = ["10-apps.yaml": ControlledMesh.apps, "20-routes.yaml": ControlledMesh.routes, "30-target.yaml": ControlledMesh.target]

    @Test func manifestsToControllerToSidecarsCarryTrafficAndEditsChangeIt() async throws {
        try await ControlledMesh.run(files: Self.smiFiles) { mesh in
            // Deterministic loopback addresses in creation order.
            #expect(try await mesh.podIP("client-0") == mesh.block.address(10))
            #expect(try await mesh.podIP("echo-0") == mesh.block.address(11))
            #expect(await eventually(within: 5) { await mesh.call() == 200 })
            let served = mesh.app?.seenHeaders.count ?? 0
            #expect(served >= 1)
            // The server sidecar knows the caller by the identity its config came with.
            let inbound = try await mesh.stats(mesh.server)
            #expect(inbound["inbound.rq_2xx", default: 0] >= 1)
            let before = try await mesh.stats(mesh.client)

            // SMI: removing the TrafficTarget takes the client's route away within seconds.
            try mesh.remove("30-target.yaml")
            #expect(await eventually(within: 5) { await mesh.call() == 0 })
            let after = try await mesh.stats(mesh.client)
            #expect(after["runtime.config_reloaded", default: 0] > before["runtime.config_reloaded", default: 0])

            // Putting it back restores the traffic.
            try mesh.write("30-target.yaml", ControlledMesh.target)
            #expect(await eventually(within: 5) { await mesh.call() == 200 })
            #expect(try await mesh.stats(mesh.client)["runtime.config_fetch_failed", default: 0] == 0)
        }
    }

    @Test func trafficSplitAddedToAManifestShiftsLiveTraffic() async throws {
        let permissive = """
        apiVersion: config.flomesh.io/v1alpha3
        kind: MeshConfig
        metadata: {name: fsm-mesh-config}
        spec:
          traffic: {enablePermissiveTrafficPolicyMode: true}
        """
        let v2 = """
        apiVersion: v1
        kind: Service
        metadata: {name: echo-v2, namespace: demo}
        spec:
          selector: {app: echo, version: v2}
          ports: [{name: web, port: 8080}]
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: echo-v2, namespace: demo}
        spec:
          selector: {matchLabels: {app: echo, version: v2}}
          template:
            metadata: {labels: {app: echo, version: v2}}
            spec:
              serviceAccountName: echo
              containers: [{name: app, image: demo, ports: [{containerPort: 8080}]}]
        """
        let split = """
        apiVersion: split.smi-spec.io/v1alpha2
        kind: TrafficSplit
        metadata: {name: echo-split, namespace: demo}
        spec:
          service: echo.demo.svc.cluster.local
          backends:
          - {service: echo-v2, weight: 100}
        """
        try await ControlledMesh.run(files: ["00-mesh.yaml": permissive, "10-apps.yaml": ControlledMesh.apps, "15-v2.yaml": v2]) { mesh in
            let v2IP = try await mesh.podIP("echo-v2-0")
            let appV2 = EchoApp()
            try await appV2.start(host: v2IP, port: 8080)
            let sidecarV2 = try await SidecarProcess.start(controller: try mesh.endpoint("echo-v2-0"), settings: SidecarSettings(podIP: v2IP, peerTransport: try await mesh.transport("echo-v2-0")), logger: mesh.logger)
            do {
                #expect(await eventually(within: 5) { await mesh.call() == 200 })
                // Without a split the root service reaches both versions.
                for _ in 0..<8 { _ = await mesh.call() }
                #expect((mesh.app?.seenHeaders.count ?? 0) > 0)
                try mesh.write("40-split.yaml", split)
                // Within seconds every request goes to v2.
                #expect(await eventually(within: 5) {
                    let v1Before = mesh.app?.seenHeaders.count ?? 0
                    for _ in 0..<4 { guard await mesh.call() == 200 else { return false } }
                    return mesh.app?.seenHeaders.count == v1Before
                })
                let v2Before = appV2.seenHeaders.count
                for _ in 0..<4 { #expect(await mesh.call() == 200) }
                #expect(appV2.seenHeaders.count == v2Before + 4)
            } catch {
                Issue.record(error)
            }
            await sidecarV2.shutdown()
            await appV2.stop()
        }
    }

    @Test func sidecarsKeepTheLastGoodConfigWhileTheControllerIsDownAndCatchUpAfter() async throws {
        try await ControlledMesh.run(files: Self.smiFiles) { mesh in
            #expect(await eventually(within: 5) { await mesh.call() == 200 })
            await mesh.stopController()
            // The held long polls break and reconnects are refused: counted, config kept.
            #expect(try await eventually(within: 5) { try await mesh.stats(mesh.client)["runtime.config_fetch_failed", default: 0] >= 2 })
            #expect(await mesh.call() == 200)
            let ready = try await MeshHTTP.request(host: mesh.client!.driver.settings.podIP, port: 15000, path: "/ready")
            #expect(ready.status == 200)
            let prometheus = try await mesh.client!.onLoop { $0.prometheusText() }
            #expect(prometheus.contains("config_fetch_failed"))

            // Edited while the controller is down; it reads the edit when it is back.
            try mesh.remove("30-target.yaml")
            try await Task.sleep(for: .milliseconds(500))
            #expect(await mesh.call() == 200)
            try await mesh.startController()
            #expect(await eventually(within: 5) { await mesh.call() == 0 })
        }
    }

    @Test func garbageOrRejectedConfigsFromTheControllerAreCountedAndTheLastGoodOneKept() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let clientIP = block.address(10)
        let serverIP = block.address(11)
        let good = MeshPair.clientConfig(serverIP: serverIP, version: "good-1")
        var unknownCluster = MeshPair.clientConfig(serverIP: serverIP, version: "bad-3")
        unknownCluster.outbound.clustersConfigs = []
        let fake = ScriptedController(answers: [
            (200, "good-1", good.renderedJSON()),
            (200, "bad-2", "{\"this is\": not json"),
            (200, "bad-3", unknownCluster.renderedJSON()),
            (200, nil, "[1, 2, 3]"),
        ])
        try await fake.start(host: block.address(1), port: 6060)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mesh-fake-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let app = EchoApp()
        var processes: [SidecarProcess] = []
        do {
            try await app.start(host: serverIP, port: 8080)
            try MeshPair.write(MeshPair.serverConfig(serverIP: serverIP), to: directory.appendingPathComponent("server.json"))
            let serverFiles = try MeshPair.certificates(for: MeshPair.serverIdentity, in: directory, name: "server")
            let clientFiles = try MeshPair.certificates(for: MeshPair.clientIdentity, in: directory, name: "client")
            processes.append(try await SidecarProcess.start(configPath: directory.appendingPathComponent("server.json").path, settings: SidecarSettings(podIP: serverIP, peerTransport: .mutualTLS(serverFiles)), logger: logger))
            let endpoint = ControllerEndpoint(host: block.address(1), port: 6060, namespace: "default", pod: "client-0", minBackoff: .milliseconds(50), maxBackoff: .milliseconds(200))
            let client = try await SidecarProcess.start(controller: endpoint, settings: SidecarSettings(podIP: clientIP, peerTransport: .mutualTLS(clientFiles)), logger: logger)
            processes.append(client)
            #expect(try await eventually(within: 5) { parseStats(try await client.onLoop { $0.statsText() })["runtime.config_rejected", default: 0] >= 3 })
            let stats = parseStats(try await client.onLoop { $0.statsText() })
            #expect(stats["runtime.config_reloaded"] == 1)
            #expect(try await client.onLoop { $0.config?.version } == "good-1")
            let response = try await MeshHTTP.request(host: clientIP, port: 15001, path: "/still-works", headers: [("host", "echo:8080")], timeout: .seconds(3))
            #expect(response.status == 200)
            #expect(response.body == "GET /still-works ")
            // After rejecting bad-2 the client asked for something newer than bad-2.
            #expect(fake.requests.contains { $0.contains("version=bad-2") })
        } catch {
            Issue.record(error)
        }
        for process in processes { await process.shutdown() }
        await app.stop()
        await fake.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    @Test func sidecarIsNotReadyUntilAFirstConfigArrives() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        // Nobody listens on the controller address.
        let endpoint = ControllerEndpoint(host: block.address(1), port: 6060, namespace: "demo", pod: "client-0", minBackoff: .milliseconds(50), maxBackoff: .milliseconds(100))
        // The peer transport does not matter here: no config ever arrives.
        let sidecar = try await SidecarProcess.start(controller: endpoint, settings: SidecarSettings(podIP: block.address(10), peerTransport: .insecurePlaintext), logger: logger)
        do {
            #expect(try await eventually(within: 20) { parseStats(try await sidecar.onLoop { $0.statsText() })["runtime.config_fetch_failed", default: 0] >= 3 })
            let ready = try await MeshHTTP.request(host: block.address(10), port: 15000, path: "/ready")
            #expect(ready.status == 503)
        } catch {
            Issue.record(error)
        }
        await sidecar.shutdown()
    }

    @Test func malformedManifestNamesFileLineColumnAndTheRestKeepsWorking() async throws {
        try await ControlledMesh.run(files: Self.smiFiles, sidecars: false) { mesh in
            let first = try await mesh.api("/v1/configs/demo/client-0")
            #expect(first.status == 200)
            let version = try #require(first.header(ControllerServer.versionHeader))

            // A new bad file: reported with its position, everything else unchanged.
            try mesh.write("25-bad.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: broken, namespace: demo}\nspec:\n  ports: [{port: seventy}]\n")
            try await mesh.controller!.rescanNow()
            var status = try await mesh.controller!.status()
            #expect(status.failedReads == 1)
            #expect(status.manifestErrors.count == 1)
            #expect(status.manifestErrors.first?.contains("25-bad.yaml:5:") == true)
            let api = try await mesh.api("/v1/status")
            #expect(api.body.contains("25-bad.yaml:5:"))
            #expect(try await mesh.api("/v1/configs/demo/client-0").header(ControllerServer.versionHeader) == version)

            // A good file turned bad keeps its last good resources: the TrafficTarget stays.
            try mesh.write("30-target.yaml", ControlledMesh.target + "\n  extra: [unclosed\n")
            try await mesh.controller!.rescanNow()
            status = try await mesh.controller!.status()
            #expect(status.failedReads == 2)
            #expect(status.manifestErrors.contains { $0.contains("30-target.yaml:") })
            #expect(try await mesh.api("/v1/configs/demo/client-0").header(ControllerServer.versionHeader) == version)

            // Fixed: the error goes away.
            try mesh.remove("25-bad.yaml")
            try mesh.write("30-target.yaml", ControlledMesh.target)
            try await mesh.controller!.rescanNow()
            #expect(try await mesh.controller!.status().manifestErrors.isEmpty)
        }
    }

    @Test func longPollAnswers304AfterTheWaitAnd200AtOnceOnAVersionChange() async throws {
        try await ControlledMesh.run(files: Self.smiFiles, sidecars: false) { mesh in
            let first = try await mesh.api("/v1/configs/demo/client-0")
            #expect(first.status == 200)
            let version = try #require(first.header(ControllerServer.versionHeader))
            #expect(try ProxyConfig(jsonText: first.body).version == version)
            #expect(try await mesh.api("/v1/configs/demo/nobody").status == 404)
            #expect(try await mesh.api("/v1/configs/demo/client-0?version=older&wait=10s").status == 200)
            #expect(try await mesh.api("/v1/configs/demo/client-0?version=\(version)&wait=soon").status == 400)
            let pods = try await mesh.api("/v1/pods")
            #expect(pods.body.contains("\"client.demo.cluster.local\"") && pods.body.contains(mesh.block.address(11)))
            #expect(try await mesh.api("/healthz").status == 200)

            // Unchanged: held for the wait, then 304.
            let start = ContinuousClock.now
            let held = try await mesh.api("/v1/configs/demo/client-0?version=\(version)&wait=1s")
            let elapsed = ContinuousClock.now - start
            #expect(held.status == 304)
            #expect(held.header(ControllerServer.versionHeader) == version)
            #expect(elapsed >= .milliseconds(900))

            // Changed while held: answered as soon as the controller sees the edit.
            async let waiting = mesh.api("/v1/configs/demo/client-0?version=\(version)&wait=20s", timeout: .seconds(25))
            #expect(await eventually(within: 3) { (try? await mesh.controller!.status().waitingProxies) == 1 })
            try mesh.remove("30-target.yaml")
            // A 200 (not the 304 that ends a 20 s wait) means the edit released the held request.
            let changed = try await waiting
            #expect(changed.status == 200)
            #expect(changed.header(ControllerServer.versionHeader) != version)
        }
    }
}

/// A fake controller that answers its script in order (status, version header, body), then holds
/// each request for 200 ms and answers 304.
final class ScriptedController: @unchecked Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let lock = NSLock()
    private var answers: [(Int, String?, String)]
    private var _requests: [String] = []
    private var channel: (any Channel)?

    init(answers: [(Int, String?, String)]) { self.answers = answers }

    var requests: [String] { lock.withLock { _requests } }

    func next(uri: String) -> (Int, String?, String)? {
        lock.withLock {
            _requests.append(uri)
            return answers.isEmpty ? nil : answers.removeFirst()
        }
    }

    func start(host: String, port: Int) async throws {
        let fake = self
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(fake: fake))
                }
            }
            .bind(host: host, port: port).get()
    }

    func stop() async {
        try? await channel?.close()
        try? await group.shutdownGracefully()
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let fake: ScriptedController
        var uri = ""
        init(fake: ScriptedController) { self.fake = fake }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): uri = head.uri
            case .body: break
            case .end:
                let channel = context.channel
                let answer = fake.next(uri: uri) ?? (304, nil, "")
                let delay: TimeAmount = answer.0 == 304 ? .milliseconds(200) : .zero
                context.eventLoop.scheduleTask(in: delay) {
                    var headers = HTTPHeaders()
                    headers.add(name: "content-length", value: String(answer.2.utf8.count))
                    headers.add(name: "connection", value: "close")
                    if let version = answer.1 { headers.add(name: "x-fsm-config-version", value: version) }
                    channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: answer.0), headers: headers)), promise: nil)
                    if !answer.2.isEmpty { channel.write(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(string: answer.2))), promise: nil) }
                    channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(promise: nil) }
                }
            }
        }
    }
}

/// Changes a test hands to the controller through the `ClusterSource` protocol.
final class ChangeFeed: @unchecked Sendable {
    private let lock = NSLock()
    private var queued: [ResourceChange] = []

    func push(_ changes: [ResourceChange]) { lock.withLock { queued += changes } }

    func take() -> [ResourceChange] {
        lock.withLock {
            defer { queued = [] }
            return queued
        }
    }
}

struct FeedSource: ClusterSource {
    let feed: ChangeFeed
    mutating func poll() -> ClusterSourcePoll { ClusterSourcePoll(changes: feed.take()) }
    var problems: [String] { [] }
    var failedReads: Int { 0 }
}

@Suite(.timeLimit(.minutes(1)))
struct ClusterSourceTests {
    @Test func anySourceDrivesTheControllerAndARemovedPodEndsItsLongPollWith404() async throws {
        let feed = ChangeFeed()
        let namespace = Namespace(metadata: ObjectMeta(name: "shop", labels: [ClusterConventions.monitoredLabel: "fsm"], annotations: [ClusterConventions.injectionAnnotation: "enabled"]))
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let host = block.address(1)
        let pod = Pod(metadata: ObjectMeta(name: "buyer-0", namespace: "shop"), spec: PodSpec(serviceAccountName: "buyer"), podIP: block.address(10))
        feed.push([.upsert(.namespace(namespace)), .upsert(.pod(pod))])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = try await ControllerServer.start(source: FeedSource(feed: feed), settings: ControllerSettings(host: host, port: 6060, pollInterval: .milliseconds(100)), logger: logger)
        do {
            let buyer = [("authorization", "Bearer \(try mintToken(server.credentials, .pod(namespace: "shop", name: "buyer-0")))")]
            let podInfo = try await MeshHTTP.request(host: host, port: 6060, path: "/v1/pods/shop/buyer-0", headers: buyer)
            #expect(podInfo.status == 200 && podInfo.body.contains(block.address(10)))
            let config = try await MeshHTTP.request(host: host, port: 6060, path: "/v1/configs/shop/buyer-0", headers: buyer)
            #expect(config.status == 200)
            let version = try #require(config.header(ControllerServer.versionHeader))
            async let held = MeshHTTP.request(host: host, port: 6060, path: "/v1/configs/shop/buyer-0?version=\(version)&wait=20s", headers: buyer, timeout: .seconds(25))
            #expect(await eventually(within: 3) { (try? await server.status().waitingProxies) == 1 })
            feed.push([.delete(ResourceKey(kind: .pod, namespace: "shop", name: "buyer-0"))])
            #expect(try await held.status == 404)
            #expect(try await MeshHTTP.request(host: host, port: 6060, path: "/v1/pods/shop/buyer-0", headers: buyer).status == 404)
        } catch {
            Issue.record(error)
        }
        await server.shutdown()
    }
}

@Suite(.timeLimit(.minutes(1)))
struct ControllerAPIBadInputTests {
    @Test func malformedRequestsGet400AndTheControllerKeepsServing() async throws {
        try await ControlledMesh.run(files: ControllerServerTests.smiFiles, sidecars: false) { mesh in
            let garbage = try await RawClient.exchange(host: mesh.controllerHost, port: 6060, bytes: "THIS IS NOT HTTP\r\n\r\n")
            #expect(garbage.hasPrefix("HTTP/1.1 400"))
            let injected = try await RawClient.exchange(host: mesh.controllerHost, port: 6060, bytes: "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
            #expect(injected.hasPrefix("HTTP/1.1 400"))
            #expect(try await mesh.api("/v1/configs/demo/client-0", timeout: .seconds(3)).status == 200)
            #expect(try await mesh.api("/v1/nothing/here").status == 404)
            let post = try await MeshHTTP.request(host: mesh.controllerHost, port: 6060, method: .POST, path: "/v1/pods", body: "x")
            #expect(post.status == 405)
        }
    }
}
