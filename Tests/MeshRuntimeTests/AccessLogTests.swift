import Foundation
import MeshModel
import MeshProxy
import MeshRuntime
import MeshShell
import MeshTestCA
import MeshTesting
import NIOHTTP1
import Testing

/// The sidecar's access log (MeshConfig `observability.remoteLogging.enable`): one JSON line per
/// request with Envoy's response flags, read back from real sidecars. Addresses: a test address block each (`TestAddressBlock`).
@Suite(.timeLimit(.minutes(1)))
struct AccessLogTests {
    /// A log file in a fresh directory, and its sink.
    final class LogFile: Sendable {
        let path: String
        let sink: AccessLogSink

        init() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("access-log-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            path = directory.appendingPathComponent("access.log").path
            sink = try AccessLogSink.file(path)
        }

        /// Every line written so far, parsed.
        func entries() throws -> [JSONValue] {
            sink.flush()
            let text = try String(contentsOfFile: path, encoding: .utf8)
            return try text.split(separator: "\n").map { try JSONValue(parsing: String($0)) }
        }

        /// The lines once there are `count` (a line is written as its response ends, which the
        /// client may see a moment before the sidecar's loop hands the line over).
        func entries(count: Int) async throws -> [JSONValue] {
            try await waitFor { try entries().count >= count }
            return try entries()
        }

        func remove() { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path) }
    }

    static func logging(_ config: ProxyConfig, on: Bool = true) -> ProxyConfig {
        var config = config
        config.spec.accessLog = on
        return config
    }

    @Test func oneJSONLinePerRequestOnBothSidesWithWhatOperatorsNeed() async throws {
        let clientLog = try LogFile(), serverLog = try LogFile()
        defer { clientLog.remove(); serverLog.remove() }
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        try await MeshPair.run(block: block, client: Self.logging(MeshPair.clientConfig(serverIP: serverIP)),
                               server: Self.logging(MeshPair.serverConfig(serverIP: serverIP)),
                               tuneClient: { $0.accessLog = clientLog.sink }, tuneServer: { $0.accessLog = serverLog.sink }) { mesh in
            let response = try await mesh.get("/hello?x=1", method: .POST, body: "abc", headers: [("x-request-id", "req-1"), ("x-b3-traceid", "463ac35c9f6413ad")])
            #expect(response.status == 200)
            let outbound = try #require(try await clientLog.entries(count: 1).first)
            #expect(outbound["direction"] == .string("outbound"))
            #expect(outbound["method"] == .string("POST"))
            #expect(outbound["authority"] == .string("echo:8080"))
            #expect(outbound["path"] == .string("/hello?x=1"))
            #expect(outbound["protocol"] == .string("HTTP/1.1"))
            #expect(outbound["response_code"] == .int(200))
            #expect(outbound["response_flags"] == .string("-"))
            #expect(outbound["bytes_received"] == .int(3))
            #expect(outbound["bytes_sent"] == .int(Int64(response.body.utf8.count)))
            #expect(outbound["upstream_cluster"] == .string("default/echo|8080"))
            #expect(outbound["upstream_host"] == .string("\(serverIP):8080"))
            #expect(outbound["x_request_id"] == .string("req-1"))
            #expect(outbound["trace_id"] == .string("463ac35c9f6413ad"))
            if case .string(let start)? = outbound["start_time"] { #expect(start.hasSuffix("Z") && start.contains("T")) } else { Issue.record("no start_time") }
            if case .double(let duration)? = outbound["duration"] { #expect(duration >= 0) } else if outbound["duration"] != .int(0) { Issue.record("no duration") }
            let inbound = try #require(try await serverLog.entries(count: 1).first)
            #expect(inbound["direction"] == .string("inbound"))
            #expect(inbound["peer_identity"] == .string(MeshPair.clientIdentity))
            #expect(inbound["response_code"] == .int(200))
            #expect(inbound["upstream_cluster"] == .string("default/echo|8080|local"))
            #expect(inbound["x_request_id"] == .string("req-1"))
        }
    }

    @Test func aRateLimitedAndAnUnroutedRequestSayWhy() async throws {
        let clientLog = try LogFile(), serverLog = try LogFile()
        defer { clientLog.remove(); serverLog.remove() }
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        let limit = RateLimitConfig(limit: 1, period: .seconds(60), capacity: 1)
        try await MeshPair.run(block: block, client: Self.logging(MeshPair.clientConfig(serverIP: serverIP)),
                               server: Self.logging(MeshPair.serverConfig(serverIP: serverIP, serviceLimit: limit)),
                               tuneClient: { $0.accessLog = clientLog.sink }, tuneServer: { $0.accessLog = serverLog.sink }) { mesh in
            #expect(try await mesh.get("/first").status == 200)
            #expect(try await mesh.get("/second").status == 429)
            // No traffic match for this Host: the sidecar closes the connection (FSM's status 0).
            _ = try? await mesh.get("/nowhere", host: "unknown.example:9999")
            let server = try await serverLog.entries(count: 2)
            #expect(server.count == 2)
            #expect(server.last?["response_code"] == .int(429))
            #expect(server.last?["response_flags"] == .string("RL"))
            let client = try await clientLog.entries(count: 3)
            #expect(client.count == 3)
            #expect(client.last?["response_code"] == .int(0))
            #expect(client.last?["response_flags"] == .string("NR"))
        }
    }

    /// Item 7 of issue 13: a connect failure and a failed TLS handshake both answer 503, flagged `UF`.
    @Test func connectAndTLSFailuresAre503WithUF() async throws {
        let clientLog = try LogFile()
        defer { clientLog.remove() }
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        var client = Self.logging(MeshPair.clientConfig(serverIP: serverIP))
        // A second service whose only endpoint has no sidecar: the connect is refused.
        client.outbound.clustersConfigs[0].endpoints = [ClusterEndpoint(address: block.address(9) + ":8080")]
        try await MeshPair.run(block: block, client: client, tuneClient: { $0.accessLog = clientLog.sink }) { mesh in
            #expect(try await mesh.get("/refused").status == 503)
            let refused = try #require(try await clientLog.entries(count: 1).last)
            #expect(refused["response_code"] == .int(503))
            #expect(refused["response_flags"] == .string("UF"))
            #expect(refused["upstream_host"] == .string(block.address(9) + ":8080"))

            // Back to the real endpoint, with a client certificate from a foreign root: the
            // handshake fails both ways.
            try MeshPair.write(Self.logging(MeshPair.clientConfig(serverIP: serverIP, version: "client-2")), to: mesh.directory.appendingPathComponent("client.json"))
            try MeshPair.certificates(for: MeshPair.clientIdentity, in: mesh.directory, name: "client", ca: .foreign)
            mesh.client.reload()
            try await waitFor { parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)["runtime.cert_reloaded"] == 1 }
            #expect(try await mesh.get("/foreign").status == 503)
            let foreign = try #require(try await clientLog.entries(count: 2).last)
            #expect(foreign["path"] == .string("/foreign"))
            #expect(foreign["response_code"] == .int(503))
            #expect(foreign["response_flags"] == .string("UF"))
        }
    }

    /// A raw TCP connection the sidecar refuses gets its line too: a closed connection says why.
    @Test func aRefusedTCPConnectionSaysWhy() async throws {
        let clientLog = try LogFile()
        defer { clientLog.remove() }
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        try await MeshPair.run(block: block, client: Self.logging(MeshPair.clientConfig(serverIP: serverIP)), tuneClient: { $0.accessLog = clientLog.sink }) { mesh in
            let result = try await TunnelClient.exchange(host: mesh.clientIP, port: 15001, send: "CONNECT 10.1.2.3:5432 HTTP/1.1\r\n\r\n", expectedBytes: 1_000)
            #expect(result.closed)
            let line = try #require(try await clientLog.entries(count: 1).first)
            #expect(line["protocol"] == .string("TCP"))
            #expect(line["method"] == .string("CONNECT"))
            #expect(line["authority"] == .string("10.1.2.3:5432"))
            #expect(line["response_code"] == .int(0))
            #expect(line["response_flags"] == .string("NR"))
        }
    }

    @Test func theMeshConfigSwitchTurnsItOnAndOffAtRunTime() async throws {
        let clientLog = try LogFile()
        defer { clientLog.remove() }
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        try await MeshPair.run(block: block, tuneClient: { $0.accessLog = clientLog.sink }) { mesh in
            #expect(try await mesh.get("/off").status == 200)
            #expect(try clientLog.entries().isEmpty)
            try MeshPair.write(Self.logging(MeshPair.clientConfig(serverIP: serverIP, version: "client-on")), to: mesh.directory.appendingPathComponent("client.json"))
            mesh.client.reload()
            try await waitFor { try await mesh.client.onLoop { $0.config?.spec.accessLog == true } }
            #expect(try await mesh.get("/on").status == 200)
            #expect(try await clientLog.entries(count: 1).map { $0["path"] } == [.string("/on")])
        }
    }

    /// A writer held until the test opens it, counting the lines it got.
    final class Gate: @unchecked Sendable {
        private let condition = NSCondition()
        private var isOpen = false
        private var lines = 0

        func pass(_ text: String) {
            condition.lock()
            while !isOpen { condition.wait() }
            lines += text.split(separator: "\n").count
            condition.unlock()
        }

        func open() {
            condition.lock()
            isOpen = true
            condition.broadcast()
            condition.unlock()
        }

        var written: Int {
            condition.lock()
            defer { condition.unlock() }
            return lines
        }
    }

    /// A writer that blocks: the sidecar answers every request all the same, and the lines that
    /// do not fit the buffer are dropped and counted.
    @Test func aBlockedSinkNeverBlocksTheSidecar() async throws {
        let gate = Gate()
        let sink = AccessLogSink(capacity: 2) { gate.pass($0) }
        defer { gate.open() }
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        try await MeshPair.run(block: block, client: Self.logging(MeshPair.clientConfig(serverIP: serverIP)), tuneClient: { $0.accessLog = sink }) { mesh in
            for index in 0..<8 { #expect(try await mesh.get("/r\(index)").status == 200) }
            func handed(_ stats: [String: UInt64]) -> UInt64 { stats["runtime.access_log_written", default: 0] + stats["runtime.access_log_dropped", default: 0] }
            try await waitFor { handed(parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)) == 8 }
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            // At most one batch in the writer's hands and two lines in the buffer.
            #expect(stats["runtime.access_log_dropped", default: 0] >= 5)
            gate.open()
            sink.flush()
            #expect(UInt64(gate.written) == stats["runtime.access_log_written", default: 0])
            #expect(sink.dropped == stats["runtime.access_log_dropped", default: 0])
        }
    }
}
