import MeshModel

/// FSM Gateway's L7 RateLimitPolicy (F2-023) on a hostname or a route match: `requests` per
/// `statTimeWindow` seconds from one bucket per policy entry (every rule the entry covers shares
/// it), `burst` deep (`requests` when absent); an empty bucket answers `responseStatusCode` with
/// `responseHeadersToAdd`. The policy's `backlog` (requests queued beyond the limit) is not
/// modelled: they are refused at once (docs/DECISIONS.md 144).
struct GatewayRateLimitFilter: HTTPFilterHooks {
    var bucket: Int
    var response: HTTPResponseHead

    static let limitedCounter = "gateway.rate_limited"

    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome {
        guard !buckets[bucket].tryTake(now: input.now) else { return .proceed }
        counters[counters.index(GatewayRateLimitFilter.limitedCounter)] += 1
        return .localReply(response, .rateLimited)
    }

    /// The bucket a policy entry asks for.
    static func bucket(_ settings: GatewayRateLimit, _ context: String) throws(ConfigRejection) -> TokenBucket {
        guard settings.requests > 0, settings.statTimeWindow > 0 else {
            throw ConfigRejection(description: "\(context): expected requests > 0 and statTimeWindow > 0")
        }
        return TokenBucket(capacity: settings.burst ?? settings.requests, refill: settings.requests, per: .seconds(Int64(settings.statTimeWindow)))
    }

    static func response(_ settings: GatewayRateLimit) -> HTTPResponseHead {
        HTTPResponseHead(status: settings.responseStatusCode,
                         headers: settings.responseHeadersToAdd.map { HTTPHeader(name: $0.name, value: $0.value) } + [HTTPHeader(name: "content-length", value: "0")])
    }
}
