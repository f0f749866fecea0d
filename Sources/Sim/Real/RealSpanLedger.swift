import Foundation
import MeshProxy
import NIOConcurrencyHelpers
import SimCore

/// The spans of a real run's sidecars, collected in process instead of at the MeshConfig's Zipkin
/// collector (`SidecarSettings.spanSink`), with their times moved to the run's clock (nanoseconds
/// since its timeline began), so the report reads as the simulator's.
final class RealSpanLedger: Sendable {
    private let log = NIOLockedValueBox(SpanLog())
    /// The run's timeline origin in microseconds since the epoch (spans carry each driver's own zero).
    private let originEpochMicroseconds = NIOLockedValueBox<Int64>(0)

    /// Where each sidecar delivers its finished spans.
    var sink: @Sendable ([TraceSpan], Int64) -> Void {
        { [log, originEpochMicroseconds] spans, driverEpochMicroseconds in
            let shift = (driverEpochMicroseconds - originEpochMicroseconds.withLockedValue { $0 }) * 1000
            let moved = spans.map { span in
                var span = span
                span.start = MeshInstant(nanoseconds: span.start.nanoseconds + shift)
                return span
            }
            log.withLockedValue { $0.record(moved) }
        }
    }

    /// The timeline begins now.
    func markOrigin() {
        originEpochMicroseconds.withLockedValue { $0 = Int64(Date().timeIntervalSince1970 * 1_000_000) }
    }

    /// The summary in the simulator's shape: each load's sample is the trace of its first answered
    /// request that had one (the client sidecar's access log names it).
    func summary(configured: Bool, loads: [(name: String, traceIDs: [String])]) -> TraceSummary? {
        var log = log.withLockedValue { $0 }
        for load in loads {
            if let first = load.traceIDs.first { log.noteSample(source: load.name, traceID: first) }
        }
        return log.summary(configured: configured)
    }
}
