import MeshModel

/// One filter of a chain: a case per filter type, each wrapping the filter's value, so that a
/// chain is a plain array. Only `HTTPFilterChain` switches on it; no shell ever sees it.
/// Indirect: each filter's value lives in a box, so that a chain's per-request walk copies a
/// reference instead of a multi-payload enum (which took a run-time case lookup per copy).
indirect enum HTTPFilter: Sendable {
    case routeMatch(RouteMatchFilter)
    case accessControl(AccessControlFilter)
    case rateLimit(RateLimitFilter)
    case headerModifier(HeaderModifierFilter)
    case requestRedirect(RequestRedirectFilter)
    case urlRewrite(URLRewriteFilter)
    case requestMirror(RequestMirrorFilter)
    case faultInjection(FaultInjectionFilter)
    /// The gateway's filters (Sources/Mesh/Proxy/Gateway).
    case gatewayRoute(GatewayRouteFilter)
    case gatewayAccessControl(GatewayAccessControlFilter)
    case gatewayRateLimit(GatewayRateLimitFilter)
    case gatewayUploadPacing(GatewayUploadPacingFilter)
    case pathRegexRewrite(PathRegexRewriteFilter)
    /// Where the matched rule's own filters run (the rule's `filters`, in order).
    case routeFilters

    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome {
        switch self {
        case .routeMatch(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
        case .accessControl(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
        case .rateLimit(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
        case .headerModifier(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
        case .requestRedirect(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
        case .urlRewrite(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
        case .requestMirror(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
        case .faultInjection(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
        case .gatewayRoute(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
        case .gatewayAccessControl(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
        case .gatewayRateLimit(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
        case .gatewayUploadPacing(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
        case .pathRegexRewrite(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
        case .routeFilters: .proceed
        }
    }

    /// Only the header modifier has a response side today.
    var hasEncode: Bool {
        if case .headerModifier(let filter) = self { return filter.hasEncode }
        return false
    }

    func encode(_ response: inout HTTPResponseHead) {
        if case .headerModifier(let filter) = self { filter.encode(&response) }
    }
}

/// How a chain's request side ended.
enum ChainDecision: Hashable, Sendable {
    /// Every filter proceeded: the terminal router takes the request.
    case toRouter
    /// A filter answered; the response already ran back through the filters before it.
    case localReply(HTTPResponseHead, LocalReason)
    /// A filter holds the request: decode again from `resumeAt` (the filter that held, which does
    /// not hold the same request twice) when an engine timer has waited `delay`.
    case hold(MeshDuration, resumeAt: ChainPosition)
}

/// A place in a chain: a listener-level filter and, at the `routeFilters` place, a rule filter.
struct ChainPosition: Hashable, Sendable {
    var listener: Int
    var rule: Int

    static let start = ChainPosition(listener: 0, rule: 0)
}

/// An ordered list of filters ending in the router, built from config for one kind of listener.
struct HTTPFilterChain: Sendable {
    var filters: [HTTPFilter]

    /// A sidecar's inbound HTTP port, in the order of FSM's inbound-http modules: routing (with
    /// the peer's identity checked against the rule), the service's then the route's rate limit.
    static let sidecarInbound = HTTPFilterChain(filters: [
        .routeMatch(RouteMatchFilter(direction: .inbound)), .accessControl(AccessControlFilter()),
        .rateLimit(RateLimitFilter(scope: .service)), .rateLimit(RateLimitFilter(scope: .route)), .routeFilters,
    ])

    /// A sidecar's outbound HTTP traffic match: routing, then the rule's own filters.
    static let sidecarOutbound = HTTPFilterChain(filters: [.routeMatch(RouteMatchFilter(direction: .outbound)), .routeFilters])

    /// Runs the request side from `start`, A→B→C (the matched rule's filters at the
    /// `routeFilters` place). A local reply runs back through the encode hooks of the filters
    /// before the one that answered, C→B→A.
    func decode(_ request: inout FilterRequest, _ input: FilterInput, from start: ChainPosition = .start, counters: inout CounterTable,
                buckets: inout [TokenBucket], random: inout some RandomNumberGenerator) -> ChainDecision {
        var position = start
        while position.listener < filters.count {
            if case .routeFilters = filters[position.listener] {
                let ruleFilters = input.ruleFilters(of: request)
                while position.rule < ruleFilters.count {
                    let outcome = ruleFilters[position.rule].decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
                    if let decision = stop(outcome, at: position, request, input) { return decision }
                    position.rule += 1
                }
            } else {
                let outcome = filters[position.listener].decode(&request, input, counters: &counters, buckets: &buckets, random: &random)
                if let decision = stop(outcome, at: position, request, input) { return decision }
            }
            position = ChainPosition(listener: position.listener + 1, rule: 0)
        }
        return .toRouter
    }

    /// What a filter's outcome means for the chain: nil to go on.
    private func stop(_ outcome: FilterOutcome, at position: ChainPosition, _ request: FilterRequest, _ input: FilterInput) -> ChainDecision? {
        switch outcome {
        case .proceed:
            return nil
        case .localReply(var head, let reason):
            HTTPFilterChain.encode(&head, through: responseFilters(for: request, input, before: position))
            return .localReply(head, reason)
        case .hold(let delay):
            return .hold(delay, resumeAt: position)
        }
    }

    /// The filters with a response side that a request passes before `position` (all of them by
    /// default), in request order; `encode(_:through:)` walks them backwards.
    func responseFilters(for request: FilterRequest, _ input: FilterInput, before position: ChainPosition? = nil) -> [HTTPFilter] {
        let end = position ?? ChainPosition(listener: filters.count, rule: 0)
        var result: [HTTPFilter] = []
        for (index, filter) in filters.prefix(min(end.listener + 1, filters.count)).enumerated() {
            if case .routeFilters = filter {
                let ruleFilters = input.ruleFilters(of: request)
                result += ruleFilters.prefix(index == end.listener ? end.rule : ruleFilters.count).filter(\.hasEncode)
            } else if index < end.listener, filter.hasEncode {
                result.append(filter)
            }
        }
        return result
    }

    /// The response side, C→B→A.
    static func encode(_ response: inout HTTPResponseHead, through filters: [HTTPFilter]) {
        for filter in filters.reversed() { filter.encode(&response) }
    }

    /// `response` after the response side (itself when there are no filters).
    static func encoded(_ response: HTTPResponseHead, through filters: [HTTPFilter]) -> HTTPResponseHead {
        guard !filters.isEmpty else { return response }
        var head = response
        encode(&head, through: filters)
        return head
    }
}
