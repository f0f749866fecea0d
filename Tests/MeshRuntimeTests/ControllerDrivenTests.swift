import Foundation
import Logging
import MeshControl
import MeshManifest
import MeshModel
import MeshRuntime
import MeshShell
import MeshTestCA
import MeshTesting
import NIOCore
import Testing

/// Configs computed by MeshController from manifests (SMI mode), run by real sidecars: the
/// controller's names, host forms and local clusters (`127.0.0.1:port`) work with the NIO shell.
@Suite(.timeLimit(.minutes(1)))
struct ControllerDrivenTests {
    /// The shop on `block`: buyer-1 .1, store-1 .2, thief-1 .3.
    static func manifests(on block: LoopbackBlockLease) -> String {
        """
    apiVersion: v1
    kind: Namespace
    metadata:
      name: shop
      labels: {flomesh.io/monitored-by: fsm}
      annotations: {flomesh.io/sidecar-injection: enabled}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: store, namespace: shop}
    spec:
      clusterIP: 10.96.7.7
      selector: {app: store}
      ports: [{name: web, port: 8080}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: buyer-1, namespace: shop, labels: {app: buyer}}
    spec:
      serviceAccountName: buyer
      containers: [{name: app, image: demo}]
    status: {podIP: \(block.address(1))}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: thief-1, namespace: shop, labels: {app: thief}}
    spec:
      serviceAccountName: thief
      containers: [{name: app, image: demo}]
    status: {podIP: \(block.address(3))}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: store-1, namespace: shop, labels: {app: store}}
    spec:
      serviceAccountName: store
      containers: [{name: app, image: demo, ports: [{containerPort: 8080}]}]
    status: {podIP: \(block.address(2))}
    ---
    apiVersion: specs.smi-spec.io/v1alpha4
    kind: HTTPRouteGroup
    metadata: {name: store-routes, namespace: shop}
    spec:
      matches:
      - name: buy
        pathRegex: /buy
        methods: [GET]
    ---
    apiVersion: access.smi-spec.io/v1alpha3
    kind: TrafficTarget
    metadata: {name: buyer-to-store, namespace: shop}
    spec:
      destination: {kind: ServiceAccount, name: store, namespace: shop}
      rules:
      - kind: HTTPRouteGroup
        name: store-routes
        matches: [buy]
      sources:
      - {kind: ServiceAccount, name: buyer, namespace: shop}
    """
    }

    @Test func smiPolicyFromManifestsIsEnforcedOnRealSockets() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let resources = try ManifestDecoder.decode(Self.manifests(on: block), file: "shop.yaml")
        var controller = MeshController()
        _ = controller.apply(resources.map { ResourceChange.upsert($0.resource) })
        let buyer = try #require(controller.config(for: PodKey(namespace: "shop", name: "buyer-1")))
        let thief = try #require(controller.config(for: PodKey(namespace: "shop", name: "thief-1")))
        let store = try #require(controller.config(for: PodKey(namespace: "shop", name: "store-1")))

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mesh-runtime-controller-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var logger = Logger(label: "test.sidecar")
        logger.logLevel = .critical
        var processes: [SidecarProcess] = []
        let app = EchoApp()
        try await app.start(host: block.address(2), port: 8080)
        do {
            for (name, config, ip) in [("buyer", buyer, block.address(1)), ("store", store, block.address(2)), ("thief", thief, block.address(3))] {
                let path = directory.appendingPathComponent("\(name).json")
                try MeshPair.write(config, to: path)
                // Each sidecar holds a certificate for its pod's service account.
                let files = try MeshPair.certificates(for: config.serviceIdentity, in: directory, name: name)
                processes.append(try await SidecarProcess.start(configPath: path.path, settings: SidecarSettings(podIP: ip, peerTransport: .mutualTLS(files)), logger: logger))
            }
            /// 0: the sidecar closed the connection without an answer.
            func get(from ip: String, _ path: String) async -> Int {
                (try? await MeshHTTP.request(host: ip, port: 15001, path: path, headers: [("host", "store.shop:8080")], timeout: .seconds(5)).status) ?? 0
            }
            #expect(await get(from: block.address(1), "/buy") == 200)
            #expect(await get(from: block.address(1), "/steal") == 403)
            // A source with no TrafficTarget gets no outbound route: the connection is closed (demos: status 0).
            #expect(await get(from: block.address(3), "/buy") == 0)
            #expect(app.seenHeaders.count == 1)
        } catch {
            Issue.record(error)
        }
        for process in processes { await process.shutdown() }
        await app.stop()
    }
}
