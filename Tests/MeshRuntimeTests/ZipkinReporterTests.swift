import MeshModel
import MeshProxy
import MeshRuntime
import NIOCore
import Testing
import ZipkinCollectorDouble

/// The reporter against a collector double: schema-valid batches, a bounded queue whose overflow is
/// counted, and a slow or absent collector that costs `submit` nothing (it only drops and counts).
@Suite struct ZipkinReporterTests {
    static func spans(_ count: Int) -> [TraceSpan] {
        (0..<count).map(span)
    }

    static func span(_ index: Int) -> TraceSpan {
        let context = B3Context(traceHigh: 1, traceLow: UInt64(index + 1), spanID: UInt64(index + 1))
        let kind: TraceSpan.Kind = index % 2 == 0 ? .client : .server
        let start = MeshInstant(nanoseconds: Int64(index) * 1000)
        return TraceSpan(context: context, kind: kind, name: "GET /", start: start, duration: .milliseconds(1), localService: "bookbuyer",
                         tags: ["http.status_code": "200"])
    }

    @Test func batchesReachTheCollectorSchemaValid() async throws {
        let collector = ZipkinCollectorDouble()
        let port = try await collector.start()
        let reporter = ZipkinReporter(epochOffsetMicroseconds: 1_700_000_000_000_000, batchSize: 4)
        reporter.configure(TracingSpec(address: "127.0.0.1:\(port)"))
        reporter.submit(Self.spans(10))
        await reporter.flush()
        await collector.stop()
        #expect(collector.spans.count == 10)
        #expect(collector.posts == 3)
        #expect(collector.schemaProblems.isEmpty, "\(collector.schemaProblems)")
        #expect(reporter.counters == ZipkinReporter.Counters(sent: 10, dropped: 0, failedBatches: 0))
    }

    @Test func aFullQueueDropsAndCounts() async {
        let reporter = ZipkinReporter(epochOffsetMicroseconds: 0, capacity: 5)
        reporter.configure(TracingSpec(address: "127.0.0.1:9"))
        reporter.submit(Self.spans(8))
        #expect(reporter.counters.dropped == 3)
        // Off: what waits is dropped, and nothing more is queued.
        reporter.configure(nil)
        reporter.submit(Self.spans(2))
        #expect(reporter.counters.dropped == 8)
    }

    @Test func anUnreachableCollectorDropsTheBatchAndCountsIt() async {
        let reporter = ZipkinReporter(epochOffsetMicroseconds: 0, batchSize: 10, timeout: .milliseconds(500))
        reporter.configure(TracingSpec(address: "127.0.0.1:1"))
        reporter.submit(Self.spans(4))
        await reporter.flush()
        #expect(reporter.counters == ZipkinReporter.Counters(sent: 0, dropped: 4, failedBatches: 1))
    }

    @Test func aSlowCollectorNeverBlocksSubmit() async throws {
        let collector = ZipkinCollectorDouble(delay: .seconds(5))
        let port = try await collector.start()
        let reporter = ZipkinReporter(epochOffsetMicroseconds: 0, capacity: 50, batchSize: 10, timeout: .milliseconds(300))
        reporter.configure(TracingSpec(address: "127.0.0.1:\(port)"))
        reporter.submit(Self.spans(10))
        let flushing = Task { await reporter.flush() }
        // While the POST waits on the collector, submitting goes on and only the capacity limits it.
        for _ in 0..<10 { reporter.submit(Self.spans(10)) }
        await flushing.value
        await collector.stop()
        #expect(reporter.counters.failedBatches == 1)
        #expect(reporter.counters.dropped >= 10 + 50)
    }
}
