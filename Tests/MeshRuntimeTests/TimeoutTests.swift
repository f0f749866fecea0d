import Foundation
import MeshModel
import MeshRuntime
import MeshShell
import MeshTesting
import NIOCore
import NIOPosix
import Testing

/// Slow clients and silent or failing upstreams on real sockets (a test address block each). Short timeouts are
/// set per test; the assertions are about outcomes (statuses, closes, counters), not durations.
@Suite(.timeLimit(.minutes(1)))
struct TimeoutTests {

    @Test func slowHeadersGet408AndTheSidecarKeepsServing() async throws {
        try await MeshPair.run(tuneClient: { $0.requestHeaderTimeout = .milliseconds(300) }) { mesh in
            // One byte each 100 ms: the head would take about 4 s, far past 300 ms.
            let head = "GET /slowloris HTTP/1.1\r\nHost: echo:8080\r\n\r\n"
            let answer = try await SlowClient.trickle(host: mesh.clientIP, port: 15001, bytes: head, every: .milliseconds(100))
            #expect(answer.hasPrefix("HTTP/1.1 408"))
            #expect(mesh.app.seenHeaders.isEmpty)
            #expect(try await mesh.get("/after").status == 200)
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["runtime.downstream_rq_header_timeout"] == 1)
        }
    }

    @Test func idleKeepAliveConnectionsAreClosed() async throws {
        try await MeshPair.run(tuneClient: { $0.idleTimeout = .milliseconds(1500) }) { mesh in
            // A connection that never sends anything is closed without an answer.
            let silent = try await RawClient.exchange(host: mesh.clientIP, port: 15001, bytes: "", timeout: .seconds(20))
            #expect(silent.isEmpty)
            // A kept-alive connection gets its answer, then is closed once idle.
            let kept = try await RawClient.exchange(host: mesh.clientIP, port: 15001, bytes: "GET /kept HTTP/1.1\r\nHost: echo:8080\r\n\r\n", timeout: .seconds(20))
            #expect(kept.hasPrefix("HTTP/1.1 200"))
            #expect(kept.hasSuffix("GET /kept "))
            #expect(try await mesh.get("/after").status == 200)
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["runtime.downstream_cx_idle_timeout"] ?? 0 >= 2)
        }
    }

    @Test func upstreamThatNeverAnswersGives504() async throws {
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        let config = MeshPair.clientConfig(serverIP: serverIP, requestTimeout: .milliseconds(500))
        try await MeshPair.run(block: block, client: config) { mesh in
            // No retry policy: only the engine's request timeout (the cluster's `RequestTimeout`)
            // ends the wait (the app would answer after 20 s).
            let silent = try await MeshHTTP.request(host: mesh.clientIP, port: 15001, path: "/slow/20000", headers: [("host", "echo:8080")], timeout: .seconds(15))
            #expect(silent.status == 504)
            #expect(try await mesh.get("/slow/10").body == "slow")
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["cluster.default/echo|8080.upstream_rq_timeout"] == 1)
            let prometheus = try await mesh.admin(mesh.clientIP, "/stats/prometheus").body
            #expect(prometheus.split(separator: "\n").contains { $0.hasPrefix("fsm_request_total{") && $0.contains("response_code=\"504\"") && $0.hasSuffix(" 1") })
            // The abandoned upstream connection is closed, so the server sidecar lets go of the
            // request too (long before the app's answer; TLS shutdown no longer waits 5 s for it).
            var serverBusy = try await mesh.server.onLoop { $0.requestsInProgress }
            for _ in 0..<30 where serverBusy != 0 {
                try await Task.sleep(for: .milliseconds(100))
                serverBusy = try await mesh.server.onLoop { $0.requestsInProgress }
            }
            #expect(serverBusy == 0)
        }
    }

    /// The request timeouts share one wake-up that sleeps again until the next deadline: requests
    /// started at different times each still get their 504, and answered ones none.
    @Test func staggeredSilentRequestsEachTimeOut() async throws {
        let block = try TestAddressBlock.lease()
        let config = MeshPair.clientConfig(serverIP: block.address(2), requestTimeout: .milliseconds(600))
        try await MeshPair.run(block: block, client: config) { mesh in
            async let first = MeshHTTP.request(host: mesh.clientIP, port: 15001, path: "/slow/20000", headers: [("host", "echo:8080")], timeout: .seconds(15))
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await mesh.get("/slow/10").body == "slow")
            async let second = MeshHTTP.request(host: mesh.clientIP, port: 15001, path: "/slow/20000", headers: [("host", "echo:8080")], timeout: .seconds(15))
            #expect(try await first.status == 504)
            #expect(try await second.status == 504)
            #expect(try await mesh.get("/slow/10").body == "slow")
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["cluster.default/echo|8080.upstream_rq_timeout"] == 2)
        }
    }

    @Test func upstreamResetsAreRetriedPerTheEngineThenAnswered503() async throws {
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        let retry = RetryPolicy(retryOn: "5xx", numRetries: 1, retryBackoffBaseInterval: .milliseconds(5))
        try await MeshPair.run(block: block, client: MeshPair.clientConfig(serverIP: serverIP, retry: retry)) { mesh in
            let reset = try await mesh.get("/reset")
            #expect(reset.status == 503)
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["cluster.default/echo|8080.upstream_rq_retry"] == 1)
            #expect(stats["cluster.default/echo|8080.upstream_rq_rx_reset"] == 2)
            #expect(stats["runtime.upstream_cx_reset"] ?? 0 >= 1)
            #expect(try await mesh.get("/after").status == 200)
        }
    }
}

/// Writes bytes one at a time with a pause between them, then reads until the peer closes;
/// writes after the close are dropped.
enum SlowClient {
    static func trickle(host: String, port: Int, bytes: String, every pause: Duration, timeout: TimeAmount = .seconds(30)) async throws -> String {
        let (channel, received) = try await RawClient.open(host: host, port: port)
        let timer = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { timer.cancel() }
        for byte in bytes.utf8 {
            guard channel.isActive else { break }
            try? await channel.writeAndFlush(channel.allocator.buffer(bytes: [byte]))
            try await Task.sleep(for: pause)
        }
        return try await received.get()
    }
}
