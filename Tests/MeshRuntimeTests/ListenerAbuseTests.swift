import Foundation
import MeshModel
import MeshRuntime
import MeshShell
import MeshTesting
import NIOCore
import Testing

/// Listeners under abuse on real sockets (127.93.1x.x): connections past a listener's limit are
/// closed at once and counted while the data path keeps serving; TLS handshakes, silent and idle
/// connections on every listener meet their deadlines; the admin port is on loopback and the
/// Prometheus port serves metrics only. Deadlines are hundreds of milliseconds; the assertions are
/// about outcomes (closes, answers, counters), never durations.
@Suite(.timeLimit(.minutes(2)))
struct ListenerAbuseTests {
    /// Opens `count` raw connections one after the other (each accepted before the next opens).
    static func openIdle(_ count: Int, host: String, port: Int) async throws -> [(channel: any Channel, received: EventLoopFuture<String>)] {
        var connections: [(channel: any Channel, received: EventLoopFuture<String>)] = []
        for _ in 0..<count { connections.append(try await RawClient.open(host: host, port: port)) }
        return connections
    }

    static func prometheusSample(_ text: String, _ family: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(family + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func connectionsPastTheAdminLimitAreClosedAndTheDataPathServes() async throws {
        try await MeshPair.run(tuneClient: { $0.connectionLimits.admin = 4 }) { mesh in
            let held = try await Self.openIdle(4, host: mesh.clientIP, port: 15000)
            let refused = try await Self.openIdle(20, host: mesh.clientIP, port: 15000)
            // Each one past the limit is closed without a byte.
            for connection in refused { #expect(try await connection.received.get() == "") }
            // The data path: client app → outbound → peer's inbound (mTLS) → app.
            let answer = try await mesh.get("/through")
            #expect(answer.status == 200)
            #expect(answer.body == "GET /through ")
            // The Prometheus port has its own room while the admin port is full.
            let metrics = try await MeshHTTP.request(host: mesh.clientIP, port: 15010, path: "/stats/prometheus", timeout: .seconds(5))
            #expect(metrics.status == 200)
            #expect(Self.prometheusSample(metrics.body, "sidecar_runtime_admin_downstream_cx_overflow") == 20)
            #expect(Self.prometheusSample(metrics.body, "sidecar_runtime_admin_downstream_cx_active") == 4)
            for connection in held { try? await connection.channel.close() }
            // Once the sidecar has seen them go (its Prometheus port says so), the admin port
            // answers again, and says what it refused.
            for _ in 0..<100 {
                let page = try? await MeshHTTP.request(host: mesh.clientIP, port: 15010, path: "/stats/prometheus", timeout: .seconds(5))
                if let page, Self.prometheusSample(page.body, "sidecar_runtime_admin_downstream_cx_active") == 0 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["runtime.admin.downstream_cx_overflow"] == 20)
            #expect(stats["runtime.outbound.downstream_cx_overflow"] == 0)
            #expect(stats["runtime.outbound.downstream_cx_active"] != nil)
        }
    }

    @Test func inboundTLSHandshakesThatDripOrNeverStartAreClosed() async throws {
        try await MeshPair.run(tuneServer: { $0.tlsHandshakeTimeout = .milliseconds(300) }) { mesh in
            // The start of a ClientHello (record header, handshake header, version), one byte per
            // 100 ms: about 4 s for all of it, far past the deadline.
            let partialHello = String(decoding: [0x16, 0x03, 0x01, 0x00, 0x7c, 0x01, 0x00, 0x00, 0x78, 0x03, 0x03] + Array(repeating: UInt8(0x41), count: 29), as: UTF8.self)
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<3 {
                    group.addTask { try await SlowClient.trickle(host: mesh.serverIP, port: 15003, bytes: partialHello, every: .milliseconds(100), timeout: .seconds(20)) }
                }
                for _ in 0..<2 {
                    group.addTask { try await RawClient.exchange(host: mesh.serverIP, port: 15003, bytes: "", timeout: .seconds(20)) }
                }
                for try await answer in group { #expect(answer.isEmpty) }
            }
            // Peers with a certificate still get through.
            #expect(try await mesh.get("/after").status == 200)
            let stats = parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)
            #expect(stats["runtime.downstream_cx_tls_handshake_timeout"] == 5)
        }
    }

    @Test func adminConnectionsMeetTheHeaderAndIdleDeadlines() async throws {
        let tune: (inout SidecarSettings) -> Void = {
            // Wide enough that a loaded machine still sends the trickle's first byte in time.
            $0.requestHeaderTimeout = .seconds(1)
            $0.idleTimeout = .seconds(2)
        }
        try await MeshPair.run(tuneClient: tune) { mesh in
            // Opens and says nothing: closed without an answer.
            let silent = try await RawClient.exchange(host: mesh.clientIP, port: 15000, bytes: "", timeout: .seconds(20))
            #expect(silent.isEmpty)
            // A kept-alive connection gets its answer, then is closed once idle.
            let kept = try await RawClient.exchange(host: mesh.clientIP, port: 15000, bytes: "GET /ready HTTP/1.1\r\nHost: admin\r\n\r\n", timeout: .seconds(20))
            #expect(kept.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(kept.hasSuffix("\r\n\r\nready\n"))
            // A head that trickles in: 408, as on the data path.
            let slow = try await SlowClient.trickle(host: mesh.clientIP, port: 15000, bytes: "GET /stats HTTP/1.1\r\nHost: admin\r\n\r\n", every: .milliseconds(100))
            #expect(slow.hasPrefix("HTTP/1.1 408"))
            // The same on the Prometheus port.
            let prometheusSilent = try await RawClient.exchange(host: mesh.clientIP, port: 15010, bytes: "", timeout: .seconds(20))
            #expect(prometheusSilent.isEmpty)
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["runtime.downstream_cx_idle_timeout"] == 3)
            #expect(stats["runtime.downstream_rq_header_timeout"] == 1)
        }
    }

    @Test func adminIsOnLoopbackAndThePrometheusPortServesMetricsOnly() async throws {
        try await MeshPair.run { mesh in
            #expect(mesh.client.adminAddress?.ipAddress == mesh.clientIP)
            #expect(mesh.client.adminAddress?.port == 15000)
            #expect(mesh.client.prometheusAddress?.port == 15010)
            let metrics = try await MeshHTTP.request(host: mesh.clientIP, port: 15010, path: "/stats/prometheus", timeout: .seconds(5))
            #expect(metrics.status == 200)
            #expect(metrics.body.contains("sidecar_runtime_prometheus_downstream_cx_active 1"))
            for path in ["/stats", "/config_dump", "/ready"] {
                let page = try await MeshHTTP.request(host: mesh.clientIP, port: 15010, path: path, timeout: .seconds(5))
                #expect(page.status == 404)
                #expect(page.body == "only /stats/prometheus is served here\n")
            }
            #expect(try await mesh.admin(mesh.clientIP, "/config_dump").status == 200)
        }
        // Under capture the admin port binds 127.0.0.1 in the pod, the others every address;
        // a pod IP off loopback never puts the admin port on it.
        var captured = SidecarSettings(podIP: "10.244.0.10", peerTransport: .insecurePlaintext, capture: .iptables)
        #expect(captured.adminListenAddress == "127.0.0.1")
        #expect(captured.listenAddress == "0.0.0.0")
        captured.capture = .local
        #expect(captured.adminListenAddress == "127.0.0.1")
        captured.adminAddress = "0.0.0.0"
        #expect(captured.adminListenAddress == "0.0.0.0")
    }

    /// The real thing: `fsm sidecar` as a child process with 128 descriptors (so admin 4, outbound
    /// and inbound 22 each, 32 in reserve) as the client pod's sidecar, and 300 connections to its
    /// admin port, more than it has descriptors. Without limits its accepts would fail (EMFILE)
    /// on every listener; with them it closes those past the admin limit and keeps serving.
    @Test(.enabled(if: CaptureTestEnvironment.binary("fsm") != nil, "the fsm binary was not built (swift build --build-tests)"))
    func descriptorExhaustionThroughTheAdminPortLeavesTheDataPathServing() async throws {
        let fsm = try #require(CaptureTestEnvironment.binary("fsm"))
        // The block's fixed ports, held against other tests and other test runs on this machine.
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let (clientIP, serverIP) = (block.address(1), block.address(2))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("listener-abuse-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let clientConfig = directory.appendingPathComponent("client.json")
        try MeshPair.write(MeshPair.clientConfig(serverIP: serverIP), to: clientConfig)
        try MeshPair.write(MeshPair.serverConfig(serverIP: serverIP), to: directory.appendingPathComponent("server.json"))
        let clientFiles = try MeshPair.certificates(for: MeshPair.clientIdentity, in: directory, name: "client")
        let serverFiles = try MeshPair.certificates(for: MeshPair.serverIdentity, in: directory, name: "server")
        let app = EchoApp()
        try await app.start(host: serverIP, port: MeshPair.appPort)
        let server = try await SidecarProcess.start(configPath: directory.appendingPathComponent("server.json").path,
                                                    settings: SidecarSettings(podIP: serverIP, peerTransport: .mutualTLS(serverFiles)), logger: MeshPair.quietLogger)
        let child = try SpawnedProcess.spawn(ProcessLaunch("/bin/sh", [
            "-c", "ulimit -n 128 && exec \"$0\" \"$@\"", fsm, "sidecar", "--config", clientConfig.path, "--pod-ip", clientIP,
            "--cert", clientFiles.certificatePath, "--key", clientFiles.privateKeyPath, "--ca", clientFiles.caPath, "--log-level", "error",
        ], standardOutput: .null, standardError: .file(directory.appendingPathComponent("client.log").path, append: false)))
        var connections: [(channel: any Channel, received: EventLoopFuture<String>)] = []
        do {
            try await Self.waitUntilReady(host: clientIP, port: 15000)
            connections = try await Self.openIdle(300, host: clientIP, port: 15000)
            let answer = try await MeshHTTP.request(host: clientIP, port: 15001, path: "/through", headers: [("host", "echo:8080")], timeout: .seconds(5))
            #expect(answer.status == 200)
            #expect(answer.body == "GET /through ")
            let metrics = try await MeshHTTP.request(host: clientIP, port: 15010, path: "/stats/prometheus", timeout: .seconds(5))
            #expect(Self.prometheusSample(metrics.body, "sidecar_runtime_admin_downstream_cx_overflow") == 296)
            #expect(Self.prometheusSample(metrics.body, "sidecar_runtime_admin_downstream_cx_active") == 4)
        } catch {
            Issue.record("client sidecar log: \((try? String(contentsOf: directory.appendingPathComponent("client.log"), encoding: .utf8)) ?? "")")
            for connection in connections { try? await connection.channel.close() }
            await Self.stop(child, server, app)
            throw error
        }
        for connection in connections { try? await connection.channel.close() }
        await Self.stop(child, server, app)
    }

    /// `fsm sidecar`'s own options: explicit limits and ports replace the derived ones; values
    /// that make no sense are refused with one line before anything starts.
    @Test(.enabled(if: CaptureTestEnvironment.binary("fsm") != nil, "the fsm binary was not built (swift build --build-tests)"))
    func limitsAndPortsFromTheCommandLine() async throws {
        let fsm = try #require(CaptureTestEnvironment.binary("fsm"))
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let ip = block.address(1)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("listener-options-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("client.json")
        try MeshPair.write(MeshPair.clientConfig(serverIP: block.address(2)), to: config)
        let base = ["sidecar", "--config", config.path, "--pod-ip", ip, "--insecure-plaintext-peers", "--log-level", "error"]
        for (arguments, message) in [(["--max-admin-connections", "0"], "--max-admin-connections must be between 1 and 10000000"),
                                     (["--admin-port", "15001"], "--outbound-port, --inbound-port, --admin-port and --prometheus-port must differ"),
                                     (["--tls-handshake-timeout=-1"], "--tls-handshake-timeout must be between 0 and 86400 seconds")] {
            let refused = try SpawnedProcess.run(ProcessLaunch(fsm, base + arguments, standardOutput: .null, standardError: .pipe), timeout: .seconds(60))
            let output = refused.errorText
            #expect(!refused.termination.succeeded)
            #expect(output.hasPrefix("Error: \(message)\n"), "\(arguments) → \(output.debugDescription)")
        }
        let child = try SpawnedProcess.spawn(ProcessLaunch(fsm, base + ["--max-admin-connections", "2", "--admin-port", "15100", "--prometheus-port", "15110"],
                                                           standardOutput: .null, standardError: .null))
        defer { child.terminate(grace: .seconds(10)) }
        try await Self.waitUntilReady(host: ip, port: 15100)
        let connections = try await Self.openIdle(3, host: ip, port: 15100)
        #expect(try await connections[2].received.get() == "")
        let metrics = try await MeshHTTP.request(host: ip, port: 15110, path: "/stats/prometheus", timeout: .seconds(5))
        #expect(Self.prometheusSample(metrics.body, "sidecar_runtime_admin_downstream_cx_overflow") == 1)
        #expect(Self.prometheusSample(metrics.body, "sidecar_runtime_admin_downstream_cx_active") == 2)
        for connection in connections { try? await connection.channel.close() }
    }

    static func stop(_ child: SpawnedProcess, _ server: SidecarProcess, _ app: EchoApp) async {
        await child.stop(grace: .seconds(10))
        await server.shutdown()
        await app.stop()
    }

    /// Polls `/ready` until 200 (the child sidecar starting), at most 30 s. Each poll closes its
    /// connection (the shared client would keep it in its pool, holding one of the admin slots).
    static func waitUntilReady(host: String, port: Int) async throws {
        for _ in 0..<300 {
            if let ready = try? await MeshHTTP.request(host: host, port: port, path: "/ready", headers: [("connection", "close")], timeout: .seconds(1)),
               ready.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw NotReady(address: "\(host):\(port)")
    }

    struct NotReady: Error, CustomStringConvertible {
        let address: String
        var description: String { "no 200 from \(address)/ready within 30 s" }
    }
}
