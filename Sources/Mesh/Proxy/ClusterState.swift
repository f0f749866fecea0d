import MeshModel

/// Envoy-style per-cluster counters, kept as plain fields and named only when rendered.
struct ClusterCounters: Hashable, Sendable {
    var upstreamRqTotal: UInt64 = 0
    var upstreamRq1xx: UInt64 = 0
    var upstreamRq2xx: UInt64 = 0
    var upstreamRq3xx: UInt64 = 0
    var upstreamRq4xx: UInt64 = 0
    var upstreamRq5xx: UInt64 = 0
    var upstreamRqRxReset: UInt64 = 0
    var upstreamRqPerTryTimeout: UInt64 = 0
    /// Requests answered 504 because their route timeout passed.
    var upstreamRqTimeout: UInt64 = 0
    var upstreamCxTotal: UInt64 = 0
    /// New connections not open within the cluster's connect timeout.
    var upstreamCxConnectTimeout: UInt64 = 0
    /// A gauge: open upstream connections (HTTP and TCP).
    var upstreamCxActive: UInt64 = 0
    var upstreamRqActive: UInt64 = 0
    var upstreamRqPendingActive: UInt64 = 0
    var upstreamRqRetry: UInt64 = 0
    var upstreamRqRetrySuccess: UInt64 = 0
    var upstreamRqRetryLimitExceeded: UInt64 = 0
    var upstreamRqRetryOverflow: UInt64 = 0
    var upstreamRqRetryBackoffExponential: UInt64 = 0
    var upstreamRqPendingOverflow: UInt64 = 0
    var upstreamRqOverflow: UInt64 = 0
    var upstreamCxOverflow: UInt64 = 0
    /// Requests answered by FSM's error/slow circuit breaker while it was open.
    var upstreamRqCircuitOpen: UInt64 = 0

    mutating func countStatus(_ status: Int) {
        switch status {
        case 100..<200: upstreamRq1xx += 1
        case 200..<300: upstreamRq2xx += 1
        case 300..<400: upstreamRq3xx += 1
        case 400..<500: upstreamRq4xx += 1
        case 500..<600: upstreamRq5xx += 1
        default: break
        }
    }

    /// Envoy names, without the `cluster.<name>.` prefix.
    func rendered() -> [(String, UInt64)] {
        [
            ("upstream_cx_active", upstreamCxActive),
            ("upstream_cx_connect_timeout", upstreamCxConnectTimeout),
            ("upstream_cx_overflow", upstreamCxOverflow),
            ("upstream_cx_total", upstreamCxTotal),
            ("upstream_rq_1xx", upstreamRq1xx),
            ("upstream_rq_2xx", upstreamRq2xx),
            ("upstream_rq_3xx", upstreamRq3xx),
            ("upstream_rq_4xx", upstreamRq4xx),
            ("upstream_rq_5xx", upstreamRq5xx),
            ("upstream_rq_active", upstreamRqActive),
            ("upstream_rq_circuit_open", upstreamRqCircuitOpen),
            ("upstream_rq_overflow", upstreamRqOverflow),
            ("upstream_rq_pending_active", upstreamRqPendingActive),
            ("upstream_rq_pending_overflow", upstreamRqPendingOverflow),
            ("upstream_rq_per_try_timeout", upstreamRqPerTryTimeout),
            ("upstream_rq_retry", upstreamRqRetry),
            ("upstream_rq_retry_backoff_exponential", upstreamRqRetryBackoffExponential),
            ("upstream_rq_retry_backoff_ratelimited", 0),
            ("upstream_rq_retry_limit_exceeded", upstreamRqRetryLimitExceeded),
            ("upstream_rq_retry_overflow", upstreamRqRetryOverflow),
            ("upstream_rq_retry_success", upstreamRqRetrySuccess),
            ("upstream_rq_rx_reset", upstreamRqRxReset),
            ("upstream_rq_timeout", upstreamRqTimeout),
            ("upstream_rq_total", upstreamRqTotal),
        ]
    }
}

/// FIFO of exchange ids without Foundation or swift-collections. Entries of exchanges that left
/// the queue early (cancelled) stay until they reach the head, where they are skipped.
struct ExchangeQueue: Sendable {
    private var items: [UInt64] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }

    mutating func append(_ id: UInt64) { items.append(id) }

    mutating func popFirst() -> UInt64? {
        guard head < items.count else { return nil }
        let id = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return id
    }
}

/// The mutable side of one cluster: its pool, queue, counters and breaker.
struct ClusterState: Sendable {
    var counters = ClusterCounters()
    var endpointBalancer: SmoothWeightedRoundRobin
    /// Idle upstream connections per endpoint index.
    var idle: [[UInt64]]
    var idleCount = 0
    var pending = ExchangeQueue()
    /// Exchanges currently holding a retry (between the decision to retry and the final answer).
    var activeRetries = 0
    var breaker: ErrorCircuitBreaker?

    init(_ cluster: CompiledCluster) {
        endpointBalancer = SmoothWeightedRoundRobin(weights: cluster.endpointWeights)
        idle = Array(repeating: [], count: cluster.endpoints.count)
        breaker = cluster.circuitBreaking.map(ErrorCircuitBreaker.init)
    }

    /// The balancer's next endpoint, skipping `previous` once when another endpoint can serve:
    /// a retry should not land on the endpoint that just failed (Envoy's `previous_hosts`).
    mutating func nextEndpoint(avoiding previous: Int) -> Int? {
        guard let first = endpointBalancer.next() else { return nil }
        guard first == previous, endpointBalancer.servingCount > 1 else { return first }
        return endpointBalancer.next()
    }

    var openConnections: Int { Int(counters.upstreamCxActive) }
    var activeRequests: Int { Int(counters.upstreamRqActive) }
    var pendingCount: Int { Int(counters.upstreamRqPendingActive) }

    /// An idle connection, to `endpoint` when it has one, otherwise to any endpoint when `anyEndpoint`.
    mutating func takeIdle(preferring endpoint: Int?, anyEndpoint: Bool) -> UInt64? {
        guard idleCount > 0 else { return nil }
        if let endpoint, endpoint < idle.count, let id = idle[endpoint].popLast() {
            idleCount -= 1
            return id
        }
        guard anyEndpoint else { return nil }
        for index in idle.indices {
            if let id = idle[index].popLast() {
                idleCount -= 1
                return id
            }
        }
        return nil
    }

    mutating func removeIdle(_ id: UInt64, endpoint: Int) {
        guard endpoint >= 0, endpoint < idle.count, let position = idle[endpoint].firstIndex(of: id) else { return }
        idle[endpoint].remove(at: position)
        idleCount -= 1
    }
}

/// FSM's error/slow circuit breaker (outbound-circuit-breaker.js), with its 1 s ticker replaced by
/// windows computed from the instants of the events.
struct ErrorCircuitBreaker: Sendable {
    let settings: CircuitBreaking
    private(set) var total = 0
    private(set) var slow = 0
    private(set) var errors = 0
    private var windowStart: MeshInstant?
    private(set) var degradedSince: MeshInstant?

    init(_ settings: CircuitBreaking) { self.settings = settings }

    var isOpen: Bool { degradedSince != nil }

    /// Whether a request may go upstream now; counts it when it may.
    mutating func admit(now: MeshInstant) -> Bool {
        if let since = degradedSince {
            guard now - since >= settings.degradedTimeWindow else { return false }
            // Closes after the degraded window, with fresh counters (no half-open probe in FSM).
            degradedSince = nil
            resetCounters(now: now)
        } else if let start = windowStart {
            if now - start >= settings.statTimeWindow { resetCounters(now: now) }
        } else {
            windowStart = now
        }
        total += 1
        return true
    }

    /// Accounts for the final outcome of an admitted request; may open the breaker.
    mutating func record(status: Int, latency: MeshDuration, now: MeshInstant) {
        guard degradedSince == nil, total > 0 else { return }
        if settings.slowAmountThreshold != nil || settings.slowRatioThreshold != nil, latency >= settings.slowTimeThreshold {
            slow = min(slow + 1, total)
            if let amount = settings.slowAmountThreshold, amount > 0, slow >= amount { trip(now) }
            if let ratio = settings.slowRatioThreshold, ratio > 0, total >= settings.minRequestAmount, Double(slow) / Double(total) >= ratio { trip(now) }
        }
        if settings.errorAmountThreshold != nil || settings.errorRatioThreshold != nil, status > 499 || status == 0 {
            errors = min(errors + 1, total)
            if let amount = settings.errorAmountThreshold, amount > 0, errors >= amount { trip(now) }
            if let ratio = settings.errorRatioThreshold, ratio > 0, total >= settings.minRequestAmount, Double(errors) / Double(total) >= ratio { trip(now) }
        }
    }

    /// The canned answer while open.
    var degradedResponse: HTTPResponseHead {
        HTTPResponseHead(status: settings.degradedStatusCode, headers: [], body: settings.degradedResponseContent)
    }

    private mutating func trip(_ now: MeshInstant) {
        if degradedSince == nil { degradedSince = now }
    }

    private mutating func resetCounters(now: MeshInstant) {
        total = 0
        slow = 0
        errors = 0
        windowStart = now
    }
}
