import MeshModel

/// One filter of a chain: a case per filter type, each wrapping the filter's value, so that a
/// chain is a plain array. Only `HTTPFilterChain` switches on it; no shell ever sees it.
enum HTTPFilter: Sendable {
    case routeMatch(RouteMatchFilter)
    case accessControl(AccessControlFilter)
    case rateLimit(RateLimitFilter)
    case headerModifier(HeaderModifierFilter)
    case requestRedirect(RequestRedirectFilter)
    case urlRewrite(URLRewriteFilter)
    case requestMirror(RequestMirrorFilter)
    /// Where the matched rule's own filters run (the rule's `filters`, in order).
    case routeFilters

    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket]) -> FilterOutcome {
        switch self {
        case .routeMatch(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets)
        case .accessControl(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets)
        case .rateLimit(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets)
        case .headerModifier(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets)
        case .requestRedirect(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets)
        case .urlRewrite(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets)
        case .requestMirror(let filter): filter.decode(&request, input, counters: &counters, buckets: &buckets)
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

    /// Runs the request side, A→B→C (the matched rule's filters at the `routeFilters` place). A
    /// local reply runs back through the encode hooks of the filters passed before the one that
    /// answered, C→B→A.
    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket]) -> ChainDecision {
        var passed: [HTTPFilter] = []
        for filter in filters {
            let decision = HTTPFilterChain.decode(filter, &request, input, counters: &counters, buckets: &buckets, passed: &passed)
            if case .localReply(var head, let reason) = decision {
                HTTPFilterChain.encode(&head, through: passed)
                return .localReply(head, reason)
            }
        }
        return .toRouter
    }

    /// One listener-level filter; `routeFilters` expands to the rule's filters. `passed` collects
    /// the filters with a response side that the request went through.
    private static func decode(_ filter: HTTPFilter, _ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable,
                               buckets: inout [TokenBucket], passed: inout [HTTPFilter]) -> ChainDecision {
        guard case .routeFilters = filter else {
            if case .localReply(let head, let reason) = filter.decode(&request, input, counters: &counters, buckets: &buckets) {
                return .localReply(head, reason)
            }
            if filter.hasEncode { passed.append(filter) }
            return .toRouter
        }
        for ruleFilter in input.rule(of: request)?.filters ?? [] {
            let decision = decode(ruleFilter, &request, input, counters: &counters, buckets: &buckets, passed: &passed)
            if case .localReply = decision { return decision }
        }
        return .toRouter
    }

    /// The filters a routed request's response runs through (those with a response side, in
    /// request order; `encode(_:through:of:)` walks them backwards).
    func responseFilters(for request: FilterRequest, _ input: FilterInput) -> [HTTPFilter] {
        var result: [HTTPFilter] = []
        for filter in filters {
            if case .routeFilters = filter {
                result += (input.rule(of: request)?.filters ?? []).filter(\.hasEncode)
            } else if filter.hasEncode {
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
