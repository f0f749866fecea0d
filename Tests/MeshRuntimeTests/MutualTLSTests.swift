import Foundation
import MeshIdentity
import MeshModel
import MeshRuntime
import MeshShell
import MeshTestCA
import MeshTesting
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Testing
import X509

/// A TLS client that speaks to a sidecar's inbound listener directly, with whatever certificate a
/// test gives it: sends one raw HTTP request and reads until the peer closes or the timeout passes.
enum TLSTestClient {
    struct Outcome {
        var text: String
        /// The serial of the certificate the server presented (nil: no handshake from our side).
        var serverSerial: [UInt8]?
    }

    static func exchange(host: String, port: Int = 15003, certificate: WorkloadCertificate, trusting root: String = TestCA.shared.rootPEM,
                         request: String, timeout: TimeAmount = .seconds(3)) async throws -> Outcome {
        try await exchange(host: host, port: port, certificatePEM: certificate.certificatePEM, privateKeyPEM: certificate.privateKeyPEM, trusting: root,
                           request: request, timeout: timeout)
    }

    /// The same with any certificate and key (PEM), such as an AccessCert's Secret holds.
    static func exchange(host: String, port: Int = 15003, certificatePEM: String, privateKeyPEM: String, trusting root: String = TestCA.shared.rootPEM,
                         request: String, timeout: TimeAmount = .seconds(3)) async throws -> Outcome {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { .certificate($0) }
        configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem))
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(root.utf8)))
        configuration.certificateVerification = .noHostnameVerification
        let context = try NIOSSLContext(configuration: configuration)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: Outcome.self)
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(Collector(promise: promise))
                }
            }
            .connect(host: host, port: port).get()
        // A refused handshake can close the channel before the request is written: the outcome says so.
        try? await channel.writeAndFlush(channel.allocator.buffer(string: request))
        let timer = loop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { timer.cancel() }
        return try await promise.futureResult.get()
    }

    final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let promise: EventLoopPromise<Outcome>
        var outcome = Outcome(text: "")
        init(promise: EventLoopPromise<Outcome>) { self.promise = promise }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
                outcome.serverSerial = (try? context.pipeline.syncOperations.nioSSL_peerCertificate())?.serialNumber
            }
            context.fireUserInboundEventTriggered(event)
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { outcome.text += String(buffer: unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) { promise.succeed(outcome) }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    /// A request as a client sidecar sends it to a peer's inbound listener.
    static func request(_ path: String, close: Bool = true) -> String {
        "GET \(path) HTTP/1.1\r\nhost: echo:8080\r\nx-fsm-target-port: 8080\r\n\(close ? "connection: close\r\n" : "")\r\n"
    }
}

/// Sidecar-to-sidecar mTLS on loopback (127.77.4x.*): identity from the client certificate, bad
/// certificates refused at the handshake, plaintext refused, renewal without dropping connections.
@Suite(.timeLimit(.minutes(1)))
struct MutualTLSTests {
    static let thiefIdentity = "thief.default.cluster.local"

    /// Only the client identity may call the echo service.
    static func onlyClientAllowed(serverIP: String) -> ProxyConfig {
        let local = [WeightedCluster(name: "default/echo|8080|local", weight: 100)]
        return MeshPair.serverConfig(serverIP: serverIP, rules: [RouteRule(pathRegex: ".*", targetClusters: local, allowedServices: [MeshPair.clientIdentity])])
    }

    @Test func serverSeesTheIdentityOfTheClientCertificate() async throws {
        let block = try TestAddressBlock.lease()
        try await MeshPair.run(block: block, server: Self.onlyClientAllowed(serverIP: block.address(2))) { mesh in
            #expect(try await mesh.get("/allowed").status == 200)
            // A third pod whose sidecar holds the thief's certificate — but whose config claims to be
            // the allowed client: the server goes by the certificate.
            let thiefIP = block.address(3)
            let files = try MeshPair.certificates(for: Self.thiefIdentity, in: mesh.directory, name: "thief")
            let config = mesh.directory.appendingPathComponent("thief.json")
            try MeshPair.write(MeshPair.clientConfig(serverIP: mesh.serverIP), to: config)
            let thief = try await SidecarProcess.start(configPath: config.path, settings: SidecarSettings(podIP: thiefIP, peerTransport: .mutualTLS(files)), logger: MeshPair.quietLogger)
            let stolen = try? await MeshHTTP.request(host: thiefIP, port: 15001, path: "/stolen", headers: [("host", "echo:8080"), ("x-fsm-source-identity", MeshPair.clientIdentity)], timeout: .seconds(5))
            await thief.shutdown()
            #expect(stolen?.status == 403)
            // The same with a hand-made TLS client holding each certificate.
            let thiefCertificate = try TestCA.shared.issue(Self.thiefIdentity)
            let direct = try await TLSTestClient.exchange(host: mesh.serverIP, certificate: thiefCertificate, request: TLSTestClient.request("/direct"))
            #expect(direct.text.hasPrefix("HTTP/1.1 403"))
            let allowed = try await TLSTestClient.exchange(host: mesh.serverIP, certificate: try TestCA.shared.issue(MeshPair.clientIdentity), request: TLSTestClient.request("/direct-ok"))
            #expect(allowed.text.hasPrefix("HTTP/1.1 200"))
            #expect(allowed.text.hasSuffix("GET /direct-ok "))
            let stats = parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)
            #expect(stats["inbound.access_denied"] == 2)
            #expect(mesh.app.seenHeaders.count == 2)
        }
    }

    @Test func expiredAndForeignCertificatesFailTheHandshakeAndAreCounted() async throws {
        try await MeshPair.run { mesh in
            // Valid a day, two days ago.
            let expired = try TestCA.shared.issue(MeshPair.clientIdentity, now: Date(timeIntervalSinceNow: -2 * 86400), validity: .hours(24))
            let foreign = try TestCA.foreign.issue(MeshPair.clientIdentity)
            let notYet = try TestCA.shared.issue(MeshPair.clientIdentity, now: Date(timeIntervalSinceNow: 3600))
            for certificate in [expired, foreign, notYet] {
                let outcome = try await TLSTestClient.exchange(host: mesh.serverIP, certificate: certificate, request: TLSTestClient.request("/sneak"))
                #expect(outcome.text.isEmpty)
            }
            #expect(mesh.app.seenHeaders.isEmpty)
            // A server whose certificate the client does not trust: the client side refuses too.
            let distrusting = try await TLSTestClient.exchange(host: mesh.serverIP, certificate: try TestCA.shared.issue(MeshPair.clientIdentity),
                                                               trusting: TestCA.foreign.rootPEM, request: TLSTestClient.request("/x"))
            #expect(distrusting.text.isEmpty)
            // Everyone else is still served.
            #expect(try await mesh.get("/still-served").status == 200)
            let good = try await TLSTestClient.exchange(host: mesh.serverIP, certificate: try TestCA.shared.issue(MeshPair.clientIdentity), request: TLSTestClient.request("/good"))
            #expect(good.text.hasPrefix("HTTP/1.1 200"))
            let stats = parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)
            #expect(stats["runtime.tls_handshake_failed"] == 4)
        }
    }

    @Test func clientSidecarWithAForeignCertificateGets503() async throws {
        try await MeshPair.run { mesh in
            // Re-issue the client sidecar's certificate from a foreign CA (its own root file too):
            // both ends refuse each other, the app sees 503, the server counts the failed handshake.
            try MeshPair.certificates(for: MeshPair.clientIdentity, in: mesh.directory, name: "client", ca: .foreign)
            mesh.client.reload()
            try await waitFor { parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)["runtime.cert_reloaded"] == 1 }
            #expect(try await mesh.get("/refused").status == 503)
            #expect(mesh.app.seenHeaders.isEmpty)
            #expect((parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)["runtime.tls_handshake_failed"] ?? 0) >= 1)
            #expect((parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)["runtime.tls_handshake_failed"] ?? 0) >= 1)
        }
    }

    @Test func plaintextToTheInboundPortIsRefused() async throws {
        let block = try TestAddressBlock.lease()
        try await MeshPair.run(block: block, server: Self.onlyClientAllowed(serverIP: block.address(2))) { mesh in
            // The old stand-in: plain HTTP naming an allowed identity in a header.
            let spoof = try await RawClient.exchange(host: mesh.serverIP, port: 15003, bytes:
                "GET / HTTP/1.1\r\nhost: echo:8080\r\nx-fsm-target-port: 8080\r\nx-fsm-source-identity: \(MeshPair.clientIdentity)\r\n\r\n")
            #expect(!spoof.contains("HTTP/1.1"))
            #expect(mesh.app.seenHeaders.isEmpty)
            // Refused at the border before any TLS: no AccessControl admits this address.
            let stats = parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)
            #expect(stats["inbound.cx_no_identity"] == 1)
            #expect(stats["runtime.tls_handshake_failed"] ?? 0 == 0)
            #expect(try await mesh.get("/through-mtls").status == 200)
        }
    }

    @Test func renewedCertificatesArePickedUpWithoutDroppingOpenConnections() async throws {
        try await MeshPair.run { mesh in
            #expect(try await mesh.get("/first").status == 200)
            let probe = try TestCA.shared.issue(MeshPair.clientIdentity)
            let before = try await TLSTestClient.exchange(host: mesh.serverIP, certificate: probe, request: TLSTestClient.request("/probe"))
            #expect(before.text.hasPrefix("HTTP/1.1 200"))

            // Both sidecars get new certificates (same identities, new keys and serials); the poll picks them up.
            let renewedServer = try TestCA.shared.issue(MeshPair.serverIdentity)
            try TestCA.write(renewedServer, to: mesh.directory, name: "server")
            try MeshPair.certificates(for: MeshPair.clientIdentity, in: mesh.directory, name: "client")
            try await waitFor(seconds: 5) {
                let server = parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)
                let client = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
                return server["runtime.cert_reloaded"] == 1 && client["runtime.cert_reloaded"] == 1
            }

            // The pooled keep-alive connection between the sidecars is still the one in use.
            for index in 0..<3 { #expect(try await mesh.get("/after-renewal/\(index)").status == 200) }
            let clientStats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(clientStats["cluster.default/echo|8080.upstream_cx_total"] == 1)
            #expect(clientStats["cluster.default/echo|8080.upstream_rq_total"] == 4)
            #expect(clientStats["runtime.upstream_cx_reset"] == 0)

            // A new connection sees the new server certificate.
            let after = try await TLSTestClient.exchange(host: mesh.serverIP, certificate: probe, request: TLSTestClient.request("/probe"))
            #expect(after.text.hasPrefix("HTTP/1.1 200"))
            #expect(after.serverSerial == Array(renewedServer.certificate.serialNumber.bytes))
            #expect(after.serverSerial != before.serverSerial)

            // A broken file is refused and the current certificate kept.
            try Data("not a certificate".utf8).write(to: mesh.directory.appendingPathComponent("server.crt"), options: .atomic)
            try await waitFor(seconds: 5) { parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)["runtime.cert_reload_failed"] == 1 }
            let still = try await TLSTestClient.exchange(host: mesh.serverIP, certificate: probe, request: TLSTestClient.request("/probe"))
            #expect(still.serverSerial == Array(renewedServer.certificate.serialNumber.bytes))
            #expect(try await mesh.get("/last").status == 200)
        }
    }

    @Test func sidecarRefusesToStartWithUnusableCertificateFiles() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mesh-mtls-bad-\(UInt32.random(in: 0...UInt32.max))")
        let files = try MeshPair.certificates(for: MeshPair.clientIdentity, in: directory, name: "client")
        defer { try? FileManager.default.removeItem(at: directory) }
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        // The key of another certificate.
        let other = try TestCA.write(TestCA.shared.issue(MeshPair.clientIdentity), to: directory, name: "other")
        let mismatched = PeerCertificateFiles(certificatePath: files.certificatePath, privateKeyPath: other.privateKeyPath, caPath: files.caPath)
        await #expect(throws: PeerCertificateError.self) {
            try await SidecarProcess.start(configPath: "/nonexistent", settings: SidecarSettings(podIP: block.address(1), peerTransport: .mutualTLS(mismatched)), logger: MeshPair.quietLogger)
        }
        let missing = PeerCertificateFiles(certificatePath: "/nonexistent/tls.crt", privateKeyPath: files.privateKeyPath, caPath: files.caPath)
        await #expect(throws: PeerCertificateError.self) {
            try await SidecarProcess.start(configPath: "/nonexistent", settings: SidecarSettings(podIP: block.address(1), peerTransport: .mutualTLS(missing)), logger: MeshPair.quietLogger)
        }
    }
}

/// Polls `condition` every 100 ms until it holds or `seconds` pass (then records a failure).
func waitFor(seconds: Double = 3, sourceLocation: Testing.SourceLocation = #_sourceLocation, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("condition not met within \(seconds) s", sourceLocation: sourceLocation)
}
