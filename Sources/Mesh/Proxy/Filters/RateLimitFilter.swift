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
        let service = input.listener.services[route.service]
        let bucket: Int?, response: HTTPResponseHead?, counter: Int
        switch scope {
        case .service:
            (bucket, response, counter) = (service.bucket, service.rateLimitedResponse, CounterTable.throttleService)
        case .route:
            let rule = service.rules[route.rule]
            (bucket, response, counter) = (rule.bucket, rule.rateLimitedResponse, CounterTable.throttleRoute)
        }
        guard let bucket, !buckets[bucket].tryTake(now: input.now) else { return .proceed }
        counters[counter] += 1
        return .localReply(response ?? RateLimitFilter.defaultResponse, .rateLimited)
    }
}
