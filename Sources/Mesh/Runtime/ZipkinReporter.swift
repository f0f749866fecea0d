import AsyncHTTPClient
import Logging
import MeshModel
import MeshProxy
import NIOCore
import NIOHTTP1
import Synchronization

/// Sends the engine's finished spans to the Zipkin collector named by the config's `Spec.Tracing`
/// (`address` `host:port`, `endpoint`): Zipkin v2 JSON arrays, at most `batchSize` spans per POST,
/// one POST in flight, one every `interval` at most. The queue is bounded: a span that finds it
/// full is dropped and counted, and so is a batch the collector refuses or does not take within
/// `timeout`. `submit` only appends under a lock: a slow or dead collector never slows a request.
public final class ZipkinReporter: Sendable {
    public struct Counters: Sendable, Equatable {
        public var sent = 0
        public var dropped = 0
        public var failedBatches = 0

        public init(sent: Int = 0, dropped: Int = 0, failedBatches: Int = 0) {
            self.sent = sent
            self.dropped = dropped
            self.failedBatches = failedBatches
        }
    }

    struct State {
        var queue: [TraceSpan] = []
        var target: TracingSpec?
        var counters = Counters()
    }

    public let capacity: Int
    public let batchSize: Int
    public let interval: Duration
    public let timeout: TimeAmount
    /// Microseconds since the Unix epoch at the engine's instant zero.
    let epochOffsetMicroseconds: Int64
    let client: HTTPClient
    let logger: Logger
    private let state = Mutex(State())

    public init(epochOffsetMicroseconds: Int64, capacity: Int = 1000, batchSize: Int = 100, interval: Duration = .seconds(1),
                timeout: TimeAmount = .seconds(2), client: HTTPClient = MeshHTTP.shared, logger: Logger = Logger(label: "fsm.tracing")) {
        self.epochOffsetMicroseconds = epochOffsetMicroseconds
        self.capacity = capacity
        self.batchSize = batchSize
        self.interval = interval
        self.timeout = timeout
        self.client = client
        self.logger = logger
    }

    /// Where spans go from now on (nil: tracing is off; what is queued is dropped).
    public func configure(_ target: TracingSpec?) {
        state.withLock { state in
            if target == nil { state.counters.dropped += state.queue.count; state.queue.removeAll() }
            state.target = target
        }
    }

    /// Queues finished spans; those beyond the capacity are dropped and counted.
    public func submit(_ spans: some Collection<TraceSpan>) {
        guard !spans.isEmpty else { return }
        state.withLock { state in
            guard state.target != nil else { return }
            let room = max(0, capacity - state.queue.count)
            state.queue.append(contentsOf: spans.prefix(room))
            state.counters.dropped += max(0, spans.count - room)
        }
    }

    public var counters: Counters { state.withLock { $0.counters } }

    /// Sends batches until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            await flush()
            try? await Task.sleep(for: interval)
        }
    }

    /// Sends what is queued now, batch by batch.
    public func flush() async {
        while let (batch, target) = takeBatch() {
            let sent = await post(batch, to: target)
            state.withLock { state in
                if sent {
                    state.counters.sent += batch.count
                } else {
                    state.counters.failedBatches += 1
                    state.counters.dropped += batch.count
                }
            }
            if !sent { return }
        }
    }

    private func takeBatch() -> ([TraceSpan], TracingSpec)? {
        state.withLock { state in
            guard let target = state.target, !state.queue.isEmpty else { return nil }
            let batch = Array(state.queue.prefix(batchSize))
            state.queue.removeFirst(batch.count)
            return (batch, target)
        }
    }

    private func post(_ batch: [TraceSpan], to target: TracingSpec) async -> Bool {
        guard let (host, port) = Self.hostAndPort(target.address) else {
            logger.warning("tracing address is not host:port; spans dropped", metadata: ["address": "\(target.address)"])
            return false
        }
        let body = TraceSpan.zipkinBatch(batch, epochOffsetMicroseconds: epochOffsetMicroseconds)
        do {
            let response = try await MeshHTTP.request(host: host, port: port, method: .POST, path: target.endpoint,
                                                      headers: [("content-type", "application/json")], body: body,
                                                      timeout: timeout, client: client)
            guard (200..<300).contains(response.status) else {
                logger.warning("the tracing collector refused spans", metadata: ["status": "\(response.status)", "address": "\(target.address)"])
                return false
            }
            return true
        } catch {
            logger.warning("the tracing collector is unreachable; spans dropped", metadata: ["address": "\(target.address)", "error": "\(error)"])
            return false
        }
    }

    /// The collector's `host:port` (a bracketed IPv6 host without its brackets); nil when malformed.
    static func hostAndPort(_ address: String) -> (String, Int)? {
        guard let parsed = MeshProxy.SocketAddress(parsing: address), parsed.port > 0 else { return nil }
        var host = Substring(parsed.ip)
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        return host.isEmpty ? nil : (String(host), parsed.port)
    }
}
