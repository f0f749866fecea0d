import AsyncHTTPClient
import Logging
import MeshModel
import MeshProxy
import NIOCore
import NIOHTTP1
import Synchronization

/// What a `BatchReporter` has done with the items it was given.
public struct BatchReporterCounters: Sendable, Equatable {
    public var sent = 0
    public var dropped = 0
    public var failedBatches = 0

    public init(sent: Int = 0, dropped: Int = 0, failedBatches: Int = 0) {
        self.sent = sent
        self.dropped = dropped
        self.failedBatches = failedBatches
    }
}

/// Sends items a sidecar produces (spans, access-log lines) to an HTTP collector in batches: at
/// most `batchSize` items per POST, rendered by `render`, one POST in flight; what is queued goes
/// every `interval`, or as soon as a whole batch waits (looked at every `interval / 10`, so a busy
/// sidecar's queue does not fill between two sends). The queue is bounded: an item that finds it full is dropped and counted, and so is a
/// batch the collector refuses or does not take within `timeout`. `submit` only appends under a
/// lock: a slow or dead collector never slows a request.
public final class BatchReporter<Item: Sendable>: Sendable {
    /// Where batches go: `address` is `host:port`, `path` the request target.
    public struct Target: Sendable, Equatable {
        public var address: String
        public var path: String
        public var headers: [HTTPHeader]

        public init(address: String, path: String, headers: [HTTPHeader] = []) {
            self.address = address
            self.path = path
            self.headers = headers
        }
    }

    struct State {
        var queue: [Item] = []
        var target: Target?
        var counters = BatchReporterCounters()
    }

    public let capacity: Int
    public let batchSize: Int
    public let interval: Duration
    public let timeout: TimeAmount
    /// What the items are, for the log (`spans`, `access log lines`).
    let kind: String
    let render: @Sendable ([Item]) -> String
    /// nil: `MeshHTTP.shared`, looked up at the first POST, so that a sidecar with no collector
    /// configured never starts the two threads of NIO's singleton loop group it runs on.
    let client: HTTPClient?
    let logger: Logger
    private let state = Mutex(State())

    public init(kind: String, capacity: Int, batchSize: Int, interval: Duration, timeout: TimeAmount, client: HTTPClient? = nil,
                logger: Logger, render: @escaping @Sendable ([Item]) -> String) {
        self.kind = kind
        self.capacity = capacity
        self.batchSize = batchSize
        self.interval = interval
        self.timeout = timeout
        self.client = client
        self.logger = logger
        self.render = render
    }

    /// Where items go from now on (nil: off; what is queued is dropped).
    public func configure(_ target: Target?) {
        state.withLock { state in
            if target == nil { state.counters.dropped += state.queue.count; state.queue.removeAll() }
            state.target = target
        }
    }

    public var isConfigured: Bool { state.withLock { $0.target != nil } }

    /// Queues items; those beyond the capacity are dropped and counted.
    public func submit(_ items: some Collection<Item>) {
        guard !items.isEmpty else { return }
        state.withLock { state in
            guard state.target != nil else { return }
            let room = max(0, capacity - state.queue.count)
            state.queue.append(contentsOf: items.prefix(room))
            state.counters.dropped += max(0, items.count - room)
        }
    }

    public var counters: BatchReporterCounters { state.withLock { $0.counters } }

    /// Sends batches until the task is cancelled.
    public func run() async {
        let tick = interval / 10
        var waited = Duration.zero
        while !Task.isCancelled {
            if waited >= interval || state.withLock({ $0.queue.count >= batchSize }) {
                await flush()
                waited = .zero
            }
            try? await Task.sleep(for: tick)
            waited += tick
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

    private func takeBatch() -> ([Item], Target)? {
        state.withLock { state in
            guard let target = state.target, !state.queue.isEmpty else { return nil }
            let batch = Array(state.queue.prefix(batchSize))
            state.queue.removeFirst(batch.count)
            return (batch, target)
        }
    }

    private func post(_ batch: [Item], to target: Target) async -> Bool {
        guard let (host, port) = Self.hostAndPort(target.address) else {
            logger.warning("collector address is not host:port; batch dropped", metadata: ["kind": "\(kind)", "address": "\(target.address)"])
            return false
        }
        do {
            let response = try await MeshHTTP.request(host: host, port: port, method: .POST, path: target.path,
                                                      headers: [("content-type", "application/json")] + target.headers.map { ($0.name, $0.value) },
                                                      body: render(batch), timeout: timeout, client: client ?? MeshHTTP.shared)
            guard (200..<300).contains(response.status) else {
                logger.warning("the collector refused a batch", metadata: ["kind": "\(kind)", "status": "\(response.status)", "address": "\(target.address)"])
                return false
            }
            return true
        } catch {
            logger.warning("the collector is unreachable; batch dropped", metadata: ["kind": "\(kind)", "address": "\(target.address)", "error": "\(error)"])
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
