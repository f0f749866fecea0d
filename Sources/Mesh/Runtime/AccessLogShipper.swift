import AsyncHTTPClient
import Logging
import MeshModel
import MeshProxy
import NIOCore
import Synchronization

/// Ships access-log lines to the collector of the config's `Spec.Observability.RemoteLogging`, as
/// FSM's sidecar does: JSON arrays of lines POSTed to `address` + `endpoint` with the
/// `Authorization` it names, through a `BatchReporter` (bounded queue, one POST in flight, drops
/// counted, never waited for by a request); the lines of a request outside `sampledFraction` stay
/// home (`LogSampler`).
public final class AccessLogShipper: Sendable {
    public typealias Counters = BatchReporterCounters

    let batches: BatchReporter<String>
    private let sampler = Mutex(LogSampler(fraction: 1))

    public init(capacity: Int = 4096, batchSize: Int = 500, interval: Duration = .seconds(1), timeout: TimeAmount = .seconds(2),
                client: HTTPClient? = nil, logger: Logger = Logger(label: "fsm.access-log")) {
        batches = BatchReporter(kind: "access log lines", capacity: capacity, batchSize: batchSize, interval: interval, timeout: timeout,
                                client: client, logger: logger) { "[" + $0.joined(separator: ",") + "]" }
    }

    /// Where lines go from now on (nil: nowhere; what is queued is dropped).
    public func configure(_ spec: RemoteLoggingSpec?) {
        sampler.withLock { $0 = LogSampler(fraction: spec?.sampledFraction ?? 1) }
        batches.configure(spec.map { spec in
            BatchReporter.Target(address: spec.address, path: spec.endpoint,
                                 headers: spec.authorization.isEmpty ? [] : [HTTPHeader(name: "authorization", value: spec.authorization)])
        })
    }

    public var isConfigured: Bool { batches.isConfigured }

    /// Queues one finished line (a JSON object) of the request `requestID`, if its request is sampled.
    public func submit(_ line: String, requestID: String?) {
        guard sampler.withLock({ $0.ships(requestID: requestID) }) else { return }
        batches.submit(CollectionOfOne(line))
    }

    public var counters: Counters { batches.counters }
    /// Sends batches until the task is cancelled.
    public func run() async { await batches.run() }
    /// Sends what is queued now, batch by batch.
    public func flush() async { await batches.flush() }
}
