import Foundation
import MeshIdentity
import MeshModel
import MeshProxy
import MeshRuntime
import MeshShell
import MeshTestCA
import MeshTesting
import NIOCore
import Testing
@testable import MeshRuntime

/// The gateway's shell on real loopback sockets (a test address block each), driven by an engine double whose
/// answers each test fixes (`ScriptedGatewayEngine`): listeners follow the applied config, bad
/// configs keep the last good one, TCP and TLS passthrough relay bytes to the backend the engine
/// names, TLS termination presents the certificate it chose (and asks for a client certificate
/// when told), UDP relays datagrams per client, and every listener keeps the sidecar's deadlines
/// and limits. Assertions are about outcomes and counters, never durations.
@Suite(.timeLimit(.minutes(2)))
struct GatewayShellTests {
    typealias Socket = GatewayListenerPlan.Socket

    static func listener(_ name: String, _ port: Int, _ kind: GatewayListenerProtocol, tls: GatewayConfig.TLS? = nil) -> GatewayConfig.Listener {
        GatewayConfig.Listener(name: name, port: port, protocol: kind, tls: tls)
    }

    static func stats(_ ip: String) async throws -> [String: UInt64] {
        parseStats(try await GatewayFixtures.admin(ip, "/stats").body)
    }

    /// The engine's gateway entry, in this test: every request answered 200 with where it came in.
    static func answerOrigin(_ gateway: GatewayProcess) async throws {
        try await gateway.onLoop { driver in
            driver.sidecar.gatewayEntry = { _, id, head, origin, _, _, _ in
                [.respond(id, MeshProxy.HTTPResponseHead(status: 200, body: "\(origin.scheme):\(origin.port) \(head.authority)\(head.path)\n"), local: nil, flags: [])]
            }
        }
    }

    @Test func listenersFollowTheAppliedConfig() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let ip = block.address(1)
        let backends = Backends()
        try await backends.tcpEcho(host: block.address(2), port: 9000, greeting: "echo ")
        defer { Task { await backends.stop() } }
        var engine = ScriptedGatewayEngine()
        engine.backends = [8000: .init(ip: block.address(2), port: 9000), 8002: .init(ip: block.address(2), port: 9000)]
        try await GatewayFixtures.run(ip, engine: engine) { try await Self.followTheConfig($0, ip: ip) }
    }

    static func followTheConfig(_ gateway: GatewayProcess, ip: String) async throws {
        do {
            #expect(try await GatewayFixtures.admin(ip, "/healthz").status == 200)
            #expect(try await GatewayFixtures.admin(ip, "/ready").status == 503)
            #expect(try await GatewayFixtures.admin(ip, "/config").status == 503)

            let first = GatewayFixtures.config(version: "v1", [Self.listener("foo", 8000, .tcp), Self.listener("web", 8001, .http)])
            #expect(await gateway.apply(first) == .applied(version: "v1"))
            #expect(try await GatewayFixtures.admin(ip, "/ready").status == 200)
            #expect(try await GatewayFixtures.admin(ip, "/config").body.contains("\"version\" : \"v1\""))
            #expect(try await RawClient.exchange(host: ip, port: 8000, bytes: "hello", timeout: .milliseconds(500)) == "echo hello")

            // v2 drops 8000, turns 8001 from HTTP into TCP and adds 8002.
            let second = GatewayFixtures.config(version: "v2", [Self.listener("web", 8001, .tcp), Self.listener("bar", 8002, .tcp)])
            #expect(await gateway.apply(second) == .applied(version: "v2"))
            #expect(await !GatewayClients.connects(host: ip, port: 8000))
            let stats = try await GatewayFixtures.admin(ip, "/stats").body
            #expect(await gateway.address(of: Socket(port: 8001, kind: .tcp)) != nil, "\(stats)")
            #expect(await gateway.address(of: Socket(port: 8001, kind: .http)) == nil)
            #expect(try await RawClient.exchange(host: ip, port: 8002, bytes: "again", timeout: .milliseconds(500)) == "echo again")

            // Refused by the engine, or with a certificate TLS cannot load: v2 stays, sockets too.
            let refused = GatewayFixtures.config(version: "refused", [Self.listener("other", 8005, .tcp)])
            #expect(await gateway.apply(refused) == .rejected(reason: "refused by the test engine"))
            let badCertificate = GatewayFixtures.config(version: "v3", [Self.listener("https", 8443, .https, tls: .init(
                mode: .terminate, certificates: [.init(secret: "httpbin/broken", certificatePEM: "not a PEM", privateKeyPEM: "nor this")]))])
            guard case .rejected(let reason) = await gateway.apply(badCertificate) else {
                Issue.record("a certificate that does not load was taken")
                return
            }
            #expect(reason.hasPrefix("listener https certificate httpbin/broken: "))
            #expect(try await GatewayFixtures.admin(ip, "/config").body.contains("\"version\" : \"v2\""))
            #expect(await gateway.address(of: Socket(port: 8005, kind: .tcp)) == nil)
            #expect(await gateway.address(of: Socket(port: 8002, kind: .tcp)) != nil)
        }
    }

    @Test func aConnectionTheEngineRefusesIsClosedAndCounted() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let ip = block.address(1)
        try await GatewayFixtures.run(ip, engine: ScriptedGatewayEngine()) { gateway in
            _ = await gateway.apply(GatewayFixtures.config(version: "v1", [Self.listener("foo", 8000, .tcp)]))
            #expect(try await RawClient.exchange(host: ip, port: 8000, bytes: "hello", timeout: .seconds(2)) == "")
            let metrics = try await GatewayFixtures.admin(ip, "/metrics").body
            #expect(metrics.contains("fsm_gateway_downstream_cx_refused_total{listener_port=\"8000\",listener_kind=\"tcp\"} 1"))
            #expect(metrics.contains("fsm_gateway_downstream_cx_total{listener_port=\"8000\",listener_kind=\"tcp\"} 1"))
            #expect(metrics.contains("sidecar_runtime_config_rejected"))
        }
    }

    @Test func tlsTerminationPresentsTheCertificateTheEngineChoseBySNI() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let ip = block.address(1)
        let foo = try GatewayFixtures.certificate(["foo.example.com"], secret: "httpbin/foo-cert")
        let bar = try GatewayFixtures.certificate(["bar.example.com"], secret: "httpbin/bar-cert")
        var engine = ScriptedGatewayEngine()
        engine.tls = ["foo.example.com": .terminate(certificate: foo, clientCA: nil), "bar.example.com": .terminate(certificate: bar, clientCA: nil)]
        try await GatewayFixtures.run(ip, engine: engine) { gateway in
            try await Self.answerOrigin(gateway)
            let tls = GatewayConfig.TLS(mode: .terminate, certificates: [foo, bar])
            _ = await gateway.apply(GatewayFixtures.config(version: "v1", [Self.listener("https", 8443, .https, tls: tls)]))
            // The client checks the certificate names the host it asked for.
            for host in ["foo.example.com", "bar.example.com"] {
                let answer = try await GatewayClients.tls(host: ip, port: 8443, serverName: host,
                                                          request: "GET /headers HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
                #expect(answer.hasPrefix("HTTP/1.1 200 OK"))
                #expect(answer.hasSuffix("https:8443 \(host)/headers\n"))
            }
            // A name no listener takes: the engine says reject, the handshake never completes.
            await #expect(throws: (any Error).self) {
                _ = try await GatewayClients.tls(host: ip, port: 8443, serverName: "baz.example.com", request: "GET / HTTP/1.1\r\n\r\n")
            }
            try await GatewayFixtures.eventually("the refusal is counted") {
                try await Self.stats(ip)["gateway.tls:8443.downstream_cx_refused"] == 1
            }
        }
    }

    @Test func aMutualTLSListenerRefusesClientsWithoutATrustedCertificate() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let ip = block.address(1)
        let foo = try GatewayFixtures.certificate(["foo.example.com"], secret: "httpbin/foo-cert")
        var engine = ScriptedGatewayEngine()
        engine.tls = ["foo.example.com": .terminate(certificate: foo, clientCA: TestCA.shared.rootPEM)]
        try await GatewayFixtures.run(ip, engine: engine) { gateway in
            try await Self.answerOrigin(gateway)
            let tls = GatewayConfig.TLS(mode: .terminate, certificates: [foo], requireClientCertificate: true, clientCA: TestCA.shared.rootPEM)
            #expect(await gateway.apply(GatewayFixtures.config(version: "v1", [Self.listener("https", 8443, .https, tls: tls)])) == .applied(version: "v1"))
            let request = "GET /secure HTTP/1.1\r\nHost: foo.example.com\r\nConnection: close\r\n\r\n"
            let without = try? await GatewayClients.tls(host: ip, port: 8443, serverName: "foo.example.com", request: request)
            #expect(without?.contains("200 OK") != true)
            let client = try TestCA.shared.issue("client.default.cluster.local")
            let withCertificate = try await GatewayClients.tls(host: ip, port: 8443, serverName: "foo.example.com", request: request,
                                                               clientCertificate: .init(secret: "client", certificatePEM: client.certificatePEM, privateKeyPEM: client.privateKeyPEM))
            #expect(withCertificate.hasPrefix("HTTP/1.1 200 OK"))
            try await GatewayFixtures.eventually("the failed handshake is counted") {
                try await Self.stats(ip)["gateway.tls:8443.downstream_cx_tls_handshake_failed"] == 1
            }
        }
    }

    @Test func passthroughRelaysTheClientHelloToTheBackendTheEngineChoseBySNI() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let ip = block.address(1)
        let backends = Backends()
        let backendCertificate = try GatewayFixtures.certificate(["pass.example.com"], secret: "backend")
        try await backends.tlsEcho(host: block.address(2), port: 9443, certificate: backendCertificate)
        defer { Task { await backends.stop() } }
        var engine = ScriptedGatewayEngine()
        engine.tls = ["pass.example.com": .passthrough]
        engine.backends = [8443: .init(ip: block.address(2), port: 9443)]
        try await GatewayFixtures.run(ip, engine: engine) { gateway in
            _ = await gateway.apply(GatewayFixtures.config(version: "v1", [Self.listener("tls", 8443, .tls, tls: .init(mode: .passthrough))]))
            // The backend's own certificate answers the client: the gateway did not terminate.
            let answer = try await GatewayClients.tls(host: ip, port: 8443, serverName: "pass.example.com", request: "ping", timeout: .milliseconds(500))
            #expect(answer == "tls-backend ping")
            let asked = try await gateway.onLoop { ($0.engine as! ScriptedGatewayEngine).asked.map { "\($0.port) \($0.transport) \($0.serverName ?? "-")" } }
            #expect(asked == ["8443 tcp pass.example.com"])
        }
    }

    @Test func aTerminateListenerWithTCPRoutesRelaysTheDecryptedBytes() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let ip = block.address(1)
        let backends = Backends()
        try await backends.tcpEcho(host: block.address(2), port: 9000, greeting: "echo ")
        defer { Task { await backends.stop() } }
        let foo = try GatewayFixtures.certificate(["foo.example.com"], secret: "httpbin/foo-cert")
        var engine = ScriptedGatewayEngine()
        engine.tls = ["foo.example.com": .terminate(certificate: foo, clientCA: nil)]
        engine.protocols = [8443: .tls]
        engine.backends = [8443: .init(ip: block.address(2), port: 9000)]
        // The relay outlives the handshake deadline: only the handshake has one.
        try await GatewayFixtures.run(ip, engine: engine, settings: GatewayFixtures.settings(ip) { $0.tlsHandshakeTimeout = .milliseconds(200) }) { gateway in
            let tls = GatewayConfig.TLS(mode: .terminate, certificates: [foo])
            _ = await gateway.apply(GatewayFixtures.config(version: "v1", [Self.listener("tls", 8443, .tls, tls: tls)]))
            let answer = try await GatewayClients.tls(host: ip, port: 8443, serverName: "foo.example.com", request: "GET / HTTP/1.1\r\nHo",
                                                      timeout: .milliseconds(600))
            #expect(answer == "echo GET / HTTP/1.1\r\nHo")
            let asked = try await gateway.onLoop { ($0.engine as! ScriptedGatewayEngine).asked.map { "\($0.port) \($0.serverName ?? "-")" } }
            #expect(asked == ["8443 foo.example.com"])
        }
    }

    @Test func udpDatagramsAreRelayedPerClientAndIdleSessionsClose() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let ip = block.address(1)
        let backends = Backends()
        try await backends.udpEcho(host: block.address(2), port: 8078)
        defer { Task { await backends.stop() } }
        var engine = ScriptedGatewayEngine()
        engine.backends = [8000: .init(ip: block.address(2), port: 8078)]
        try await GatewayFixtures.run(ip, engine: engine, settings: GatewayFixtures.settings(ip) { $0.udpIdleTimeout = .milliseconds(100) }) { gateway in
            _ = await gateway.apply(GatewayFixtures.config(version: "v1", [Self.listener("udp", 8000, .udp)]))
            // The guide's `echo 'fsm' | nc -4u -w1 $GATEWAY_IP 8000`, from two clients.
            #expect(try await GatewayClients.udp(host: ip, port: 8000, datagram: "fsm\n") == "fsm\n")
            #expect(try await GatewayClients.udp(host: ip, port: 8000, datagram: "mesh\n") == "mesh\n")
            try await GatewayFixtures.eventually("both sessions close when idle") {
                let stats = try await Self.stats(ip)
                return stats["gateway.udp:8000.downstream_session_idle_timeout"] == 2 && stats["gateway.udp:8000.downstream_cx_active"] == 0
            }
            #expect(try await Self.stats(ip)["gateway.udp:8000.downstream_cx_total"] == 2)
            #expect(try await gateway.onLoop { ($0.engine as! ScriptedGatewayEngine).open.isEmpty })
        }
    }

    @Test func aSlowlorisClientGets408AndIsCounted() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let ip = block.address(1)
        try await GatewayFixtures.run(ip, engine: ScriptedGatewayEngine(), settings: GatewayFixtures.settings(ip) { $0.requestHeaderTimeout = .milliseconds(300) }) { gateway in
            try await Self.answerOrigin(gateway)
            _ = await gateway.apply(GatewayFixtures.config(version: "v1", [Self.listener("http", 8000, .http)]))
            // On a loaded machine the partial head may come after the 300 ms first-byte deadline
            // (a quiet close, no 408): the client tries again.
            try await GatewayFixtures.eventually("a partial head gets 408") {
                let answer = try await RawClient.exchange(host: ip, port: 8000, bytes: "GET /headers HTTP/1.1\r\nHost: foo", timeout: .seconds(5))
                return answer.hasPrefix("HTTP/1.1 408")
            }
            #expect(try await Self.stats(ip)["runtime.downstream_rq_header_timeout", default: 0] >= 1)
            // A whole request on the same listener reaches the engine's entry (on a loaded machine
            // a connection may miss the 300 ms first-byte deadline: it is tried again).
            try await GatewayFixtures.eventually("a whole request is served") {
                let served = try await RawClient.exchange(host: ip, port: 8000, bytes: "GET /headers HTTP/1.1\r\nHost: foo.example.com\r\nConnection: close\r\n\r\n")
                return served.hasPrefix("HTTP/1.1 200 OK") && served.hasSuffix("http:8000 foo.example.com/headers\n")
            }
        }
    }

    @Test func aConnectionFloodIsRefusedPastTheLimitAndCounted() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let ip = block.address(1)
        try await GatewayFixtures.run(ip, engine: ScriptedGatewayEngine(), settings: GatewayFixtures.settings(ip) {
            // The held connections send nothing: no deadline may close them during the flood.
            $0.connectionLimit = 3
            $0.requestHeaderTimeout = .zero
            $0.idleTimeout = .zero
        }) { gateway in
            try await Self.answerOrigin(gateway)
            _ = await gateway.apply(GatewayFixtures.config(version: "v1", [Self.listener("http", 8000, .http)]))
            var held: [any Channel] = []
            for _ in 0..<3 { held.append(try await RawClient.open(host: ip, port: 8000).channel) }
            try await GatewayFixtures.eventually("three connections held") { try await Self.stats(ip)["gateway.http:8000.downstream_cx_active"] == 3 }
            for _ in 0..<10 {
                let (_, received) = try await RawClient.open(host: ip, port: 8000)
                #expect(try await received.get() == "")
            }
            #expect(try await Self.stats(ip)["gateway.http:8000.downstream_cx_overflow"] == 10)
            for channel in held { try? await channel.close() }
            try await GatewayFixtures.eventually("the listener serves again") {
                let answer = try await RawClient.exchange(host: ip, port: 8000, bytes: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                return answer.hasPrefix("HTTP/1.1 200 OK")
            }
        }
    }
}
