import MeshModel
import MeshProxy
import SimCore
import Testing

/// The run's span collector: samples are first come, spans beyond capacity are counted, a
/// sample's spans come in start order with a client before the server half it shares an id with.
@Suite struct SpanLogTests {
    static func span(trace: UInt64, id: UInt64, parent: UInt64? = nil, kind: TraceSpan.Kind, service: String, at ms: Int64) -> TraceSpan {
        TraceSpan(context: B3Context(traceHigh: 0, traceLow: trace, wide: false, spanID: id, parentSpanID: parent), kind: kind, name: "GET /",
                  start: MeshInstant(nanoseconds: ms * 1_000_000), duration: .milliseconds(1), localService: service, tags: ["http.status_code": "200"])
    }

    @Test func aSourcesFirstTraceIsItsSample() throws {
        var log = SpanLog()
        log.record([Self.span(trace: 1, id: 10, kind: .server, service: "b", at: 5), Self.span(trace: 1, id: 10, kind: .client, service: "a", at: 5),
                    Self.span(trace: 2, id: 20, kind: .client, service: "a", at: 1)])
        log.noteSample(source: "load", traceID: B3Context.hex(1))
        log.noteSample(source: "load", traceID: B3Context.hex(2))
        let summary = try #require(log.summary(configured: false))
        #expect(summary.spans == 3 && summary.traces == 2 && summary.notKept == 0)
        #expect(summary.samples.map(\.source) == ["load"])
        #expect(summary.samples[0].spans.map(\.service) == ["a", "b"], "client before the server half at the same instant")
        #expect(summary.samples[0].spans.allSatisfy { $0.startMs == 5 && $0.durationMs == 1 && $0.status == "200" })
    }

    @Test func spansBeyondCapacityAreCountedNotKept() throws {
        var log = SpanLog()
        log.record((0...SpanLog.capacity).map { Self.span(trace: UInt64($0 + 1), id: 1, kind: .client, service: "a", at: 0) })
        log.noteSample(source: "late", traceID: B3Context.hex(UInt64(SpanLog.capacity + 1)))
        let summary = try #require(log.summary(configured: true))
        #expect(summary.spans == SpanLog.capacity + 1 && summary.notKept == 1)
        #expect(summary.samples.first?.spans.isEmpty == true, "the sample's trace finished after the log was full")
    }

    @Test func noSummaryWithoutTracing() {
        #expect(SpanLog().summary(configured: false) == nil)
        #expect(SpanLog().summary(configured: true)?.spans == 0)
    }
}
