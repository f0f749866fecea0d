import Foundation
import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

@Suite("HTTP filter chain")
struct HTTPFilterChainTests {
    static let gatewayChain = HTTPFilterChain(filters: [.routeMatch(RouteMatchFilter(direction: .outbound)), .routeFilters])
    static let mirrorBackend = GatewayConfig.Backend(service: "server/pipy-mirror", port: 8080, endpoints: ["10.2.0.9:8080"])
    static let mirror = "server/pipy-mirror:8080"

    /// The fixture's outbound listener whose catch-all rule carries `filters`.
    static func bench(ruleFilters: [HTTPFilter]) -> FilterBench {
        var bench = FilterBench(outboundOf: Fixture.outbound())
        bench.listener.services[0].rules[0] = bench.listener.services[0].rules[0].with(filters: ruleFilters)
        return bench
    }

    static func compile(_ filters: [GatewayConfig.Filter], clusters: Set<String> = []) throws(ConfigRejection) -> [HTTPFilter] {
        try HTTPFilter.compile(filters, clusters: clusters, mirrorCluster: { "\($0.service):\($0.port)" }, context: "route r")
    }

    @Test func ruleFiltersRunInOrderAfterTheRouteMatch() {
        var bench = HTTPFilterChainTests.bench(ruleFilters: [
            .requestMirror(RequestMirrorFilter(cluster: "before")),
            .urlRewrite(URLRewriteFilter(path: .replaceFullPath("/headers"))),
            .requestMirror(RequestMirrorFilter(cluster: "after")),
        ])
        var request = FilterRequest.get("/get", host: "httpbin.httpbin:14001")
        #expect(bench.decode(HTTPFilterChainTests.gatewayChain, &request) == .toRouter)
        #expect(request.route == SelectedRoute(service: 0, rule: 0))
        #expect(request.mirrors.map(\.head.path) == ["/get", "/headers"])
        #expect(request.head.path == "/headers" && request.headModified)
    }

    @Test func aLocalReplyRunsBackThroughTheFiltersBeforeItOnly() {
        let before = HTTPFilter.headerModifier(HeaderModifierFilter(side: .response, add: [HTTPHeader(name: "x-before", value: "1")]))
        let after = HTTPFilter.headerModifier(HeaderModifierFilter(side: .response, add: [HTTPHeader(name: "x-after", value: "1")]))
        var bench = HTTPFilterChainTests.bench(ruleFilters: [before, .requestRedirect(RequestRedirectFilter(hostname: "bar.example.com", statusCode: 301)), after])
        var request = FilterRequest.get("/get", host: "httpbin.httpbin:14001", port: 14001)
        let expected = HTTPResponseHead(status: 301, headers: [HTTPHeader(name: "Location", value: "http://bar.example.com:14001/get"), HTTPHeader(name: "x-before", value: "1")])
        #expect(bench.decode(HTTPFilterChainTests.gatewayChain, &request) == .localReply(expected, .redirect))
    }

    @Test func aHoldResumesAtTheFilterThatHeldAndItsReplyKeepsTheEarlierResponseFilters() {
        let stamp = HTTPFilter.headerModifier(HeaderModifierFilter(side: .response, add: [HTTPHeader(name: "x-gateway", value: "1")]))
        let fault = HTTPFilter.faultInjection(FaultInjectionFilter(delay: .init(percent: 100, min: .seconds(2), max: .seconds(2)),
                                                                   abort: .init(percent: 100, status: 503, message: "fault")))
        var bench = HTTPFilterChainTests.bench(ruleFilters: [stamp, fault])
        var request = FilterRequest.get("/get", host: "httpbin.httpbin:14001")
        let position = ChainPosition(listener: 1, rule: 1)
        #expect(bench.decode(HTTPFilterChainTests.gatewayChain, &request) == .hold(.seconds(2), resumeAt: position))
        var random = SeededGenerator(seed: 7)
        let resumed = HTTPFilterChainTests.gatewayChain.decode(&request, FilterInput(listener: bench.listener, now: .zero), from: position,
                                                               counters: &bench.counters, buckets: &bench.buckets, random: &random)
        #expect(resumed == .localReply(HTTPResponseHead(status: 503, headers: [HTTPHeader(name: "x-gateway", value: "1")], body: "fault"), .faultAbort))
    }

    @Test func aRoutedResponseRunsThroughTheResponseFiltersInReverse() {
        let first = HTTPFilter.headerModifier(HeaderModifierFilter(side: .response, set: [HTTPHeader(name: "x-order", value: "first")]))
        let second = HTTPFilter.headerModifier(HeaderModifierFilter(side: .response, set: [HTTPHeader(name: "x-order", value: "second")]))
        let bench = HTTPFilterChainTests.bench(ruleFilters: [first, .urlRewrite(URLRewriteFilter(hostname: "baz.example.com")), second])
        var request = FilterRequest.get("/get", host: "httpbin.httpbin:14001")
        request.route = SelectedRoute(service: 0, rule: 0)
        let filters = HTTPFilterChainTests.gatewayChain.responseFilters(for: request, FilterInput(listener: bench.listener, now: .zero))
        #expect(filters.count == 2)
        var response = HTTPResponseHead(status: 200)
        HTTPFilterChain.encode(&response, through: filters)
        // C→B→A: the filter listed first runs last.
        #expect(response.header("x-order") == "first")
    }

    @Test func theSidecarsChainsHaveNoResponseSide() {
        let bench = FilterBench(inboundOf: InboundTests.config())
        var request = FilterRequest.get("/books-bought", host: "bookstore.bookstore:14001")
        request.route = SelectedRoute(service: 0, rule: 0)
        #expect(HTTPFilterChain.sidecarInbound.responseFilters(for: request, FilterInput(listener: bench.listener, now: .zero)).isEmpty)
    }

    @Test func gatewayAPIFiltersCompileFromTheirConfig() throws {
        let filters = try HTTPFilterChainTests.compile([
            .requestHeaderModifier(GatewayHeaderModifier(add: [GatewayHeader(name: "header-2-add", value: "foo")], remove: ["user-agent"])),
            .urlRewrite(GatewayURLRewrite(path: .replacePrefixMatch("/stream"))),
            .requestMirror(HTTPFilterChainTests.mirrorBackend),
        ], clusters: [HTTPFilterChainTests.mirror])
        var bench = HTTPFilterChainTests.bench(ruleFilters: filters)
        var request = FilterRequest.get("/status/204", host: "httpbin.httpbin:14001", headers: [HeaderModifierFilterTests.userAgent])
        request.matchedPrefix = "/status"
        #expect(bench.decode(HTTPFilterChainTests.gatewayChain, &request) == .toRouter)
        #expect(request.head.path == "/stream/204")
        #expect(request.head.headers == [HTTPHeader(name: "header-2-add", value: "foo")])
        #expect(request.mirrors.map(\.cluster) == [HTTPFilterChainTests.mirror])
    }

    static let badFilters: [([GatewayConfig.Filter], String)] = [
        ([.requestRedirect(GatewayRequestRedirect(statusCode: 307))], "route r filter 1 (RequestRedirect): statusCode 307: expected 301 or 302"),
        ([.requestRedirect(GatewayRequestRedirect(scheme: "ftp"))], "route r filter 1 (RequestRedirect): scheme \"ftp\": expected http or https"),
        ([.requestRedirect(GatewayRequestRedirect(port: 0))], "route r filter 1 (RequestRedirect): port 0: expected 1-65535"),
        ([.urlRewrite(GatewayURLRewrite(hostname: "Bad_Host"))], "route r filter 1 (URLRewrite): hostname \"Bad_Host\": expected a lower-case DNS name"),
        ([.urlRewrite(GatewayURLRewrite(path: .replaceFullPath("headers")))], "route r filter 1 (URLRewrite): path: replaceFullPath \"headers\" must start with /"),
        ([.requestMirror(mirrorBackend)], "route r filter 1 (RequestMirror): cluster server/pipy-mirror:8080 is not in the config's clusters"),
        ([.responseHeaderModifier(GatewayHeaderModifier(set: [GatewayHeader(name: "A", value: "1"), GatewayHeader(name: "a", value: "2")]))],
         "route r filter 1 (ResponseHeaderModifier): set: header a appears twice"),
        ([.requestHeaderModifier(GatewayHeaderModifier(remove: ["bad header"]))], "route r filter 1 (RequestHeaderModifier): remove: \"bad header\" is not a header name"),
        ([.urlRewrite(GatewayURLRewrite()), .requestRedirect(GatewayRequestRedirect())], "route r: RequestRedirect and URLRewrite may appear once, and not together"),
        ([.pathRegexRewrite(pattern: "([", replacement: "/")], "route r filter 1 (PathRegexRewrite): invalid regex"),
    ]

    @Test(arguments: badFilters)
    func badFiltersRejectTheConfigWithOneLine(_ filters: [GatewayConfig.Filter], _ message: String) {
        let error = #expect(throws: ConfigRejection.self) { try HTTPFilterChainTests.compile(filters) }
        #expect(error?.description.hasPrefix(message) == true, "\(error?.description ?? "")")
    }
}
