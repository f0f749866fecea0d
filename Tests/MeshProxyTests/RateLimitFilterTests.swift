import MeshModel
import Testing
@testable import MeshProxy

@Suite("Rate limit filter")
struct RateLimitFilterTests {
    static let service = HTTPFilter.rateLimit(RateLimitFilter(scope: .service))
    static let route = HTTPFilter.rateLimit(RateLimitFilter(scope: .route))

    static func routed() -> FilterRequest {
        var request = FilterRequest.get("/books-bought", host: "bookstore.bookstore:14001")
        request.route = SelectedRoute(service: 0, rule: 0)
        return request
    }

    @Test func theServiceBucketAnswersWithItsConfiguredStatusWhenEmpty() {
        let limit = RateLimitConfig(limit: 1, period: .seconds(60), capacity: 2, responseStatusCode: 509, responseHeadersToAdd: [HeaderValue(name: "x-limited", value: "1")])
        var bench = FilterBench(inboundOf: InboundTests.config(serviceLimit: limit))
        for _ in 0..<2 {
            var request = RateLimitFilterTests.routed()
            #expect(bench.decode(RateLimitFilterTests.service, &request) == .proceed)
        }
        var third = RateLimitFilterTests.routed()
        #expect(bench.decode(RateLimitFilterTests.service, &third)
            == .localReply(HTTPResponseHead(status: 509, headers: [HTTPHeader(name: "x-limited", value: "1")]), .rateLimited))
        #expect(bench.count(CounterTable.throttleService) == 1)
        // The route scope has no bucket in this config: it never limits.
        #expect(bench.decode(RateLimitFilterTests.route, &third) == .proceed)
        bench.now = MeshInstant(nanoseconds: MeshDuration.seconds(60).nanoseconds)
        var later = RateLimitFilterTests.routed()
        #expect(bench.decode(RateLimitFilterTests.service, &later) == .proceed, "a token came back after the period")
    }

    @Test func theRouteBucketDefaultsTo429() {
        let limit = RateLimitConfig(limit: 1, period: .seconds(1), capacity: 1, responseStatusCode: 0, responseHeadersToAdd: [])
        var bench = FilterBench(inboundOf: InboundTests.config(routeLimit: limit))
        var first = RateLimitFilterTests.routed(), second = RateLimitFilterTests.routed()
        #expect(bench.decode(RateLimitFilterTests.route, &first) == .proceed)
        #expect(bench.decode(RateLimitFilterTests.route, &second) == .localReply(HTTPResponseHead(status: 429), .rateLimited))
        #expect(bench.count(CounterTable.throttleRoute) == 1)
    }

    @Test func anUnroutedRequestIsNotLimited() {
        let limit = RateLimitConfig(limit: 1, period: .seconds(1), capacity: 0, responseStatusCode: 429, responseHeadersToAdd: [])
        var bench = FilterBench(inboundOf: InboundTests.config(serviceLimit: limit))
        var request = FilterRequest.get()
        #expect(bench.decode(RateLimitFilterTests.service, &request) == .proceed)
    }
}
