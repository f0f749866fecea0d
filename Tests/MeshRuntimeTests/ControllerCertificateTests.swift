import Crypto
import Foundation
import Logging
import MeshControlPlane
import MeshIdentity
import MeshModel
import MeshRuntime
import MeshShell
import MeshTesting
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
import X509

/// The controller runs the mesh CA: sidecars without certificate files get theirs from it, renew
/// them, and a pod cannot get another service account's certificate. Addresses: a test address block each.
@Suite(.timeLimit(.minutes(2)))
struct ControllerCertificateTests {
    /// A permissive mesh with the pods `shop/buyer-1` and `shop/store-1` at the given addresses.
    static func manifests(buyerIP: String, storeIP: String, validity: String? = nil) -> String {
        let certificate = validity.map { "\n  certificate: {serviceCertValidityDuration: \($0)}" } ?? ""
        return """
        apiVersion: config.flomesh.io/v1alpha3
        kind: MeshConfig
        metadata: {name: fsm-mesh-config, namespace: fsm-system}
        spec:
          traffic: {enablePermissiveTrafficPolicyMode: true}\(certificate)
        ---
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
        status: {podIP: \(buyerIP)}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: store-1, namespace: shop, labels: {app: store}}
        spec:
          serviceAccountName: store
          containers: [{name: app, image: demo, ports: [{containerPort: 8080}]}]
        status: {podIP: \(storeIP)}
        """
    }

    /// A controller on .100 of a test address block (its own CA), the store app, and sidecars for both pods
    /// with `mutualTLSFromController`; stops everything after `body`.
    struct Mesh {
        let block: LoopbackBlockLease
        let controller: ControllerServer
        let buyer: SidecarProcess
        let store: SidecarProcess
        let app: EchoApp

        var buyerIP: String { block.address(1) }
        var storeIP: String { block.address(2) }
        var controllerHost: String { block.address(100) }
        var controllerPort: Int { controller.address?.port ?? 0 }

        static var logger: Logger {
            var logger = Logger(label: "test.certificates")
            logger.logLevel = .critical
            return logger
        }

        static func run(validity: String? = nil, _ body: (Mesh) async throws -> Void) async throws {
            try await TestAddressBlock.with { block in try await runLeased(block: block, validity: validity, body) }
        }

        private static func runLeased(block: LoopbackBlockLease, validity: String?, _ body: (Mesh) async throws -> Void) async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mesh-certs-\(block.block)-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try Data(manifests(buyerIP: block.address(1), storeIP: block.address(2), validity: validity).utf8)
                .write(to: directory.appendingPathComponent("mesh.yaml"))
            let controller = try await ControllerServer.start(
                manifests: directory.path, settings: ControllerSettings(host: block.address(100), port: 0, pollInterval: .milliseconds(250)), logger: logger)
            let app = EchoApp()
            var sidecars: [SidecarProcess] = []
            do {
                try await app.start(host: block.address(2), port: 8080)
                for (pod, last) in [("buyer-1", 1), ("store-1", 2)] {
                    let endpoint = ControllerEndpoint(host: block.address(100), port: controller.address?.port ?? 0, namespace: "shop", pod: pod,
                                                      minBackoff: .milliseconds(50), maxBackoff: .milliseconds(400),
                                                      credential: .token(try mintToken(controller.credentials, .pod(namespace: "shop", name: pod))))
                    sidecars.append(try await SidecarProcess.start(
                        controller: endpoint, settings: SidecarSettings(podIP: block.address(last), peerTransport: .mutualTLSFromController),
                        logger: logger, certificateWait: .seconds(30)))
                }
                let mesh = Mesh(block: block, controller: controller, buyer: sidecars[0], store: sidecars[1], app: app)
                try await mesh.waitUntilReady()
                try await body(mesh)
            } catch {
                Issue.record(error)
            }
            for sidecar in sidecars { await sidecar.shutdown() }
            await app.stop()
            await controller.shutdown()
        }

        func waitUntilReady() async throws {
            for sidecar in [buyer, store] {
                try await eventually("sidecar has a config") { try await sidecar.onLoop { $0.isReady } }
            }
        }

        func certificate(_ sidecar: SidecarProcess) async throws -> WorkloadCertificate? {
            try await sidecar.onLoop { $0.workloadCertificate }
        }

        func controllerMetrics() async throws -> String {
            try await MeshHTTP.request(host: controllerHost, port: controllerPort, path: "/metrics", timeout: .seconds(5)).body
        }

        /// A certificate request for `pod` with that pod's credential (unless told otherwise), from the buyer's address.
        func request(_ body: String, pod: String = "buyer-1", from localAddress: String? = nil, credential: CredentialSubject? = nil) async throws -> MeshHTTPResponse {
            let subject = credential ?? .pod(namespace: "shop", name: pod)
            return try await MeshHTTP.request(host: controllerHost, port: controllerPort, method: .POST, path: "/v1/certificates/shop/\(pod)",
                                                      headers: [("authorization", "Bearer \(try mintToken(controller.credentials, subject))")],
                                                      body: body, timeout: .seconds(5), localAddress: localAddress ?? buyerIP)
        }
    }

    /// Polls `condition` every 100 ms for up to `seconds` (generous: the machine is busy).
    static func eventually(_ what: String, seconds: Double = 30, _ condition: () async throws -> Bool) async throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting until \(what)")
    }

    @Test func sidecarsWithoutCertificateFilesTalkMutualTLSWithControllerIssuedCertificates() async throws {
        try await Mesh.run { mesh in
            let buyer = try #require(try await mesh.certificate(mesh.buyer))
            let store = try #require(try await mesh.certificate(mesh.store))
            #expect(buyer.identity.dnsName == "buyer.shop.cluster.local")
            #expect(store.identity.dnsName == "store.shop.cluster.local")
            // The MeshConfig default validity: 24h.
            #expect(buyer.notValidAfter.timeIntervalSince(buyer.notValidBefore) == 24 * 3600)
            // Both chain to the controller's root.
            #expect(buyer.issuerPEM == mesh.controller.rootCertificatePEM)
            let response = try await MeshHTTP.request(host: mesh.buyerIP, port: 15001, path: "/buy", headers: [("host", "store.shop:8080")], timeout: .seconds(5))
            #expect(response.status == 200)
            #expect(response.body == "GET /buy ")
            // The store's sidecar saw the buyer's identity in its verified client certificate.
            #expect(mesh.app.seenHeaders.count == 1)
            let metrics = try parsePrometheus(try await mesh.controllerMetrics())
            #expect(metrics.first { $0.name == "fsm_cert_issued_count" }?.value == 2)
        }
    }

    @Test func shortLivedCertificatesAreRenewedAndAnOpenConnectionKeepsWorking() async throws {
        try await Mesh.run(validity: "6s") { mesh in
            let first = try #require(try await mesh.certificate(mesh.buyer))
            #expect(first.notValidAfter.timeIntervalSince(first.notValidBefore) == 6)
            let connection = try await KeepAliveClient.connect(host: mesh.buyerIP, port: 15001)
            #expect(try await connection.get("/one", host: "store.shop:8080").status == 200)
            // Renewed at least twice on both sides (the second time past the first one's expiry).
            try await Self.eventually("both sidecars renewed twice") {
                let counts = try await [mesh.buyer, mesh.store].asyncMap { sidecar in
                    try await sidecar.onLoop { parseStats($0.statsText())["runtime.cert_reloaded"] ?? 0 }
                }
                return counts.allSatisfy { $0 >= 2 }
            }
            let renewed = try #require(try await mesh.certificate(mesh.buyer))
            #expect(renewed.serialNumberHex != first.serialNumberHex)
            #expect(renewed.notValidAfter > first.notValidAfter)
            #expect(Date() > first.notValidAfter)
            // The same app connection, and the same sidecar-to-sidecar connection (made under the first certificate).
            #expect(try await connection.get("/two", host: "store.shop:8080").status == 200)
            let stats = try await mesh.buyer.onLoop { parseStats($0.statsText()) }
            #expect(stats["cluster.shop/store|8080.upstream_cx_total"] == 1)
            await connection.close()
            // New connections use the renewed certificates.
            #expect(try await MeshHTTP.request(host: mesh.buyerIP, port: 15001, path: "/three", headers: [("host", "store.shop:8080")], timeout: .seconds(5)).status == 200)
            #expect(mesh.app.seenHeaders.count == 3)
            let failures = try await mesh.buyer.onLoop { parseStats($0.statsText())["runtime.cert_request_failed"] ?? 0 }
            #expect(failures == 0)
            let metrics = try parsePrometheus(try await mesh.controllerMetrics())
            #expect((metrics.first { $0.name == "fsm_cert_issued_count" }?.value ?? 0) >= 6)
        }
    }

    @Test func aPodCannotGetAnotherServiceAccountsCertificate() async throws {
        try await Mesh.run { mesh in
            var generator = SystemRandomNumberGenerator()
            let key = KeyGeneration.p256PrivateKey(using: &generator)
            // The buyer pod asking for the store's identity.
            let foreign = try MeshCertificateRequest(identity: ServiceIdentity(serviceAccount: "store", namespace: "shop"), privateKey: key)
            let refused = try await mesh.request(foreign.pem)
            #expect(refused.status == 403)
            #expect(refused.body.contains("buyer.shop.cluster.local"))
            // The buyer's own identity, but asked from the store pod's address.
            let own = try MeshCertificateRequest(identity: ServiceIdentity(serviceAccount: "buyer", namespace: "shop"), privateKey: key)
            #expect(try await mesh.request(own.pem, from: mesh.storeIP).status == 403)
            // Not a CSR; a pod the controller does not know.
            #expect(try await mesh.request("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n").status == 400)
            #expect(try await mesh.request(own.pem, pod: "ghost-1").status == 404)
            // The buyer asking for its own identity from its own address gets it.
            let granted = try await mesh.request(own.pem)
            #expect(granted.status == 200)
            let answer = try JSONValue(parsing: granted.body)
            guard case .string(let pem)? = answer["certificate"] else {
                Issue.record("no certificate in \(granted.body)")
                return
            }
            let certificate = try PEMCoding.certificate(pem, what: "issued certificate")
            #expect(try PeerCertificateVerifier.identity(of: certificate).dnsName == "buyer.shop.cluster.local")
            #expect(certificate.publicKey == Certificate.PublicKey(key.publicKey))
            let metrics = try parsePrometheus(try await mesh.controllerMetrics())
            func refusals(_ reason: String) -> Double? { metrics.first { $0.name == "fsm_cert_refused_count" && $0.labels["reason"] == reason }?.value }
            #expect(refusals("foreign_identity") == 1)
            #expect(refusals("wrong_address") == 1)
            #expect(refusals("bad_request") == 1)
            #expect(refusals("unknown_pod") == 1)
            // Two sidecars at start, and the granted request.
            #expect(metrics.first { $0.name == "fsm_cert_issued_count" }?.value == 3)
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}

/// One keep-alive HTTP/1.1 connection, one request at a time (to show a connection survives renewal).
final class KeepAliveClient: @unchecked Sendable {
    private let channel: any Channel
    private let handler: Handler

    private init(channel: any Channel, handler: Handler) {
        self.channel = channel
        self.handler = handler
    }

    static func connect(host: String, port: Int) async throws -> KeepAliveClient {
        let handler = Handler()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: host, port: port).get()
        return KeepAliveClient(channel: channel, handler: handler)
    }

    func get(_ path: String, host: String) async throws -> MeshHTTPResponse {
        let promise = channel.eventLoop.makePromise(of: MeshHTTPResponse.self)
        let handler = handler
        let channel = channel
        channel.eventLoop.execute {
            handler.pending = promise
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
            head.headers.add(name: "host", value: host)
            head.headers.add(name: "content-length", value: "0")
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        // No answer in time: closing the connection fails the request.
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
        defer { timeout.cancel() }
        return try await promise.futureResult.get()
    }

    func close() async {
        try? await channel.close()
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        var pending: EventLoopPromise<MeshHTTPResponse>?
        private var response: MeshHTTPResponse?

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                response = MeshHTTPResponse(status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) }, body: "")
            case .body(let buffer):
                response?.body += String(buffer: buffer)
            case .end:
                if let response { pending?.succeed(response) }
                pending = nil
                response = nil
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            pending?.fail(ConnectionClosedEarly())
            pending = nil
            context.fireChannelInactive()
        }
    }
}

/// The raw client's connection closed before a whole response.
struct ConnectionClosedEarly: Error {}
