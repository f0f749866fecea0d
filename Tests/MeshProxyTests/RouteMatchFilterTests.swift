import MeshModel
import Testing
@testable import MeshProxy

@Suite("Route match filter")
struct RouteMatchFilterTests {
    static let inbound = HTTPFilter.routeMatch(RouteMatchFilter(direction: .inbound))
    static let outbound = HTTPFilter.routeMatch(RouteMatchFilter(direction: .outbound))

    static func twoRules() -> ProxyConfig {
        Fixture.outbound(rules: [
            RouteRule(pathRegex: "/admin.*", methods: ["POST"], targetClusters: [WeightedCluster(name: Fixture.httpbinCluster, weight: 100)]),
            RouteRule(pathRegex: "/get", headers: [HeaderMatch(name: "x-canary", valueRegex: "yes")], targetClusters: [WeightedCluster(name: Fixture.httpbinCluster, weight: 100)]),
            RouteRule(pathRegex: "/.*", targetClusters: [WeightedCluster(name: Fixture.httpbinCluster, weight: 100)]),
        ])
    }

    @Test func outboundChoosesTheFirstRuleWhoseMethodPathAndHeadersMatch() {
        var bench = FilterBench(outboundOf: RouteMatchFilterTests.twoRules())
        var canary = FilterRequest.get("/get?x=1", host: "httpbin.httpbin:14001", headers: [HTTPHeader(name: "X-Canary", value: "yes")])
        #expect(bench.decode(RouteMatchFilterTests.outbound, &canary) == .proceed)
        #expect(canary.route == SelectedRoute(service: 0, rule: 1))
        var plain = FilterRequest.get("/admin/users", host: "httpbin.httpbin.svc.cluster.local")
        #expect(bench.decode(RouteMatchFilterTests.outbound, &plain) == .proceed)
        #expect(plain.route == SelectedRoute(service: 0, rule: 2), "GET does not match the POST-only rule")
        #expect(!plain.headModified)
    }

    @Test func outboundUnknownHostIs404AndCounted() {
        var bench = FilterBench(outboundOf: RouteMatchFilterTests.twoRules())
        var request = FilterRequest.get(host: "elsewhere:14001")
        #expect(bench.decode(RouteMatchFilterTests.outbound, &request) == .localReply(HTTPResponseHead(status: 404), .noRoute))
        #expect(request.route == nil)
        #expect(bench.count(CounterTable.outboundNoRoute) == 1)
    }

    @Test func inboundNoMatchingRuleIs403AndAnUnknownHostGoesToTheOnlyService() {
        var bench = FilterBench(inboundOf: InboundTests.config())
        var unknownHost = FilterRequest.get("/books-bought", host: "10.244.0.9:14001")
        #expect(bench.decode(RouteMatchFilterTests.inbound, &unknownHost) == .proceed)
        #expect(unknownHost.route == SelectedRoute(service: 0, rule: 0))
        var otherPath = FilterRequest.get("/elsewhere", host: "bookstore.bookstore:14001")
        #expect(bench.decode(RouteMatchFilterTests.inbound, &otherPath) == .localReply(HTTPResponseHead(status: 403), .accessDenied))
        #expect(bench.count(CounterTable.inboundAccessDenied) == 1)
    }

    @Test func inboundPortWithoutServicesAllowsNothing() {
        var config = InboundTests.config()
        config.inbound.trafficMatches[0].httpServiceRouteRules = []
        var bench = FilterBench(inboundOf: config)
        var request = FilterRequest.get("/books-bought", host: "bookstore.bookstore:14001")
        #expect(bench.decode(RouteMatchFilterTests.inbound, &request) == .localReply(HTTPResponseHead(status: 403), .accessDenied))
    }
}
