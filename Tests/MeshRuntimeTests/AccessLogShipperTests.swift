import Foundation
import MeshModel
import MeshProxy
import MeshRuntime
import MeshShell
import MeshTesting
import NIOCore
import Testing
import ZipkinCollectorDouble

/// Remote logging (MeshConfig `observability.remoteLogging` with a collector): access-log lines
/// leave the sidecar as JSON arrays POSTed to the collector with its `Authorization`, sampled by
/// request id, bounded and never waited for. Addresses: 127.99.16-17.x.
@Suite(.timeLimit(.minutes(1)))
struct AccessLogShipperTests {
    static func line(_ id: Int) -> String { #"{"x_request_id":"req-\#(id)","response_code":200}"# }

    @Test func linesReachTheCollectorAsJSONArraysWithTheAuthorization() async throws {
        let collector = ZipkinCollectorDouble()
        let port = try await collector.start()
        let shipper = AccessLogShipper(batchSize: 3)
        shipper.configure(RemoteLoggingSpec(address: "127.0.0.1:\(port)", endpoint: "/insert?table=log", authorization: "Basic c2VjcmV0"))
        for id in 0..<5 { shipper.submit(Self.line(id), requestID: "req-\(id)") }
        await shipper.flush()
        await collector.stop()
        let posts = collector.received
        #expect(posts.count == 2)
        #expect(posts.allSatisfy { $0.path == "/insert?table=log" && $0.authorization == "Basic c2VjcmV0" })
        let lines = try posts.flatMap { post in try #require(JSONValue(parsing: post.body).arrayItems) }
        #expect(lines.map { $0["x_request_id"]?.stringValue } == (0..<5).map { "req-\($0)" })
        #expect(shipper.counters == AccessLogShipper.Counters(sent: 5, dropped: 0, failedBatches: 0))
    }

    @Test func aWholeBatchGoesWithoutWaitingForTheInterval() async throws {
        let collector = ZipkinCollectorDouble()
        let port = try await collector.start()
        let shipper = AccessLogShipper(batchSize: 4, interval: .seconds(30))
        shipper.configure(RemoteLoggingSpec(address: "127.0.0.1:\(port)"))
        let running = Task { await shipper.run() }
        // The first look is at once (nothing waits), the next a tenth of the interval later (3 s).
        for id in 0..<4 { shipper.submit(Self.line(id), requestID: "req-\(id)") }
        try await waitFor(seconds: 5) { collector.received.count == 1 }
        running.cancel()
        await collector.stop()
        #expect(shipper.counters.sent == 4)
    }

    @Test func unsampledRequestsStayHomeAndAnAbsentCollectorCostsNothing() async {
        let shipper = AccessLogShipper(capacity: 4, timeout: .milliseconds(300))
        shipper.configure(RemoteLoggingSpec(address: "127.0.0.1:1", sampledFraction: 0))
        shipper.submit(Self.line(1), requestID: "req-1")
        #expect(shipper.counters == AccessLogShipper.Counters())
        shipper.configure(RemoteLoggingSpec(address: "127.0.0.1:1"))
        for id in 0..<6 { shipper.submit(Self.line(id), requestID: "req-\(id)") }
        #expect(shipper.counters.dropped == 2, "the queue holds 4")
        await shipper.flush()
        #expect(shipper.counters == AccessLogShipper.Counters(sent: 0, dropped: 6, failedBatches: 1))
        shipper.configure(nil)
        shipper.submit(Self.line(9), requestID: nil)
        #expect(!shipper.isConfigured && shipper.counters.dropped == 6)
    }

    @Test func aLiveSidecarShipsItsRequestsLinesToTheConfigsCollector() async throws {
        let collector = ZipkinCollectorDouble()
        let block = try TestAddressBlock.lease()
        let port = try await collector.start(host: block.address(3))
        var client = MeshPair.clientConfig(serverIP: block.address(2))
        client.spec.accessLog = true
        client.spec.remoteLogging = RemoteLoggingSpec(address: "\(block.address(3)):\(port)", authorization: "token-1")
        try await MeshPair.run(block: block, client: client) { mesh in
            for id in 0..<3 {
                let response = try await mesh.get("/hello", headers: [("x-request-id", "req-\(id)")])
                #expect(response.status == 200)
            }
            try await waitFor(seconds: 5) { collector.received.flatMap { post in (try? JSONValue(parsing: post.body).arrayItems) ?? [] }.count >= 3 }
        }
        await collector.stop()
        let posts = collector.received
        #expect(posts.allSatisfy { $0.path == RemoteLoggingSpec.defaultEndpoint && $0.authorization == "token-1" })
        let lines = posts.flatMap { post in (try? JSONValue(parsing: post.body).arrayItems) ?? [] }
        #expect(Set(lines.compactMap { $0["x_request_id"]?.stringValue }) == ["req-0", "req-1", "req-2"])
        #expect(lines.allSatisfy { $0["direction"]?.stringValue == "outbound" && $0["response_code"] == .int(200) })
    }
}
