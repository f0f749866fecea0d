import AsyncHTTPClient
import Logging
import MeshModel
import MeshProxy
import NIOCore

/// Sends the engine's finished spans to the Zipkin collector named by the config's `Spec.Tracing`
/// (`address` `host:port`, `endpoint`) as Zipkin v2 JSON arrays, through a `BatchReporter`
/// (bounded queue, one POST in flight, drops counted, never waited for by a request).
public final class ZipkinReporter: Sendable {
    public typealias Counters = BatchReporterCounters

    /// Microseconds since the Unix epoch at the engine's instant zero.
    let epochOffsetMicroseconds: Int64
    let batches: BatchReporter<TraceSpan>

    public init(epochOffsetMicroseconds: Int64, capacity: Int = 1000, batchSize: Int = 100, interval: Duration = .seconds(1),
                timeout: TimeAmount = .seconds(2), client: HTTPClient? = nil, logger: Logger = Logger(label: "fsm.tracing")) {
        self.epochOffsetMicroseconds = epochOffsetMicroseconds
        batches = BatchReporter(kind: "spans", capacity: capacity, batchSize: batchSize, interval: interval, timeout: timeout, client: client,
                                logger: logger) { TraceSpan.zipkinBatch($0, epochOffsetMicroseconds: epochOffsetMicroseconds) }
    }

    /// Where spans go from now on (nil: tracing is off; what is queued is dropped).
    public func configure(_ target: TracingSpec?) {
        batches.configure(target.map { BatchReporter.Target(address: $0.address, path: $0.endpoint) })
    }

    /// Queues finished spans; those beyond the capacity are dropped and counted.
    public func submit(_ spans: some Collection<TraceSpan>) { batches.submit(spans) }
    public var counters: Counters { batches.counters }
    /// Sends batches until the task is cancelled.
    public func run() async { await batches.run() }
    /// Sends what is queued now, batch by batch.
    public func flush() async { await batches.flush() }
}
