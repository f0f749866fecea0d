import MeshModel

/// A local rate limit on requests (UpstreamTrafficSetting's `rateLimit.local.http` and its
/// `httpRoutes`): one token of the service's, or of the matched route's, bucket per request;
/// an empty bucket answers with the configured status (429 by default) and headers.
struct RateLimitFilter: HTTPFilterHooks {
    enum Scope: Hashable, Sendable {
        /// The bucket of the service the route match chose (`inbound-throttle-service`).
        case service
        /// The bucket of the rule it chose (`inbound-throttle-route`).
        case route
    }

    var scope: Scope

    static let defaultResponse = HTTPResponseHead(status: 429)

    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome {
        guard let route = request.route else { return .proceed }
        // The bucket first, the response only when it is empty: no copy of the service or rule per request.
        let bucket = switch scope {
        case .service: input.listener.services[route.service].bucket
        case .route: input.listener.services[route.service].rules[route.rule].bucket
        }
        guard let bucket, !buckets[bucket].tryTake(now: input.now) else { return .proceed }
        let response: HTTPResponseHead?
        switch scope {
        case .service:
            counters[CounterTable.throttleService] += 1
            response = input.listener.services[route.service].rateLimitedResponse
        case .route:
            counters[CounterTable.throttleRoute] += 1
            response = input.listener.services[route.service].rules[route.rule].rateLimitedResponse
        }
        return .localReply(response ?? RateLimitFilter.defaultResponse, .rateLimited)
    }
}
