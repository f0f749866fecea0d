import Foundation
import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

@Suite("HTTP filter chain")
struct HTTPFilterChainTests {
    static let gatewayChain = HTTPFilterChain(filters: [.routeMatch(RouteMatchFilter(direction: .outbound)), .routeFilters])
    static let mirror = "server/pipy-mirror|8080"

    /// The fixture's outbound listener whose catch-all rule carries `filters`.
    static func bench(ruleFilters: [HTTPFilter]) -> FilterBench {
        var bench = FilterBench(outboundOf: Fixture.outbound())
        bench.listener.services[0].rules[0].filters = ruleFilters
        return bench
    }

    static func decode(_ json: String) throws -> [HTTPRouteFilterConfig] {
        try JSONDecoder().decode([HTTPRouteFilterConfig].self, from: Data(json.utf8))
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

    @Test func gatewayAPIFiltersCompileFromTheirJSON() throws {
        let configs = try HTTPFilterChainTests.decode("""
        [{"type": "RequestHeaderModifier", "requestHeaderModifier": {"add": [{"name": "header-2-add", "value": "foo"}], "remove": ["user-agent"]}},
         {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/stream"}}},
         {"type": "RequestMirror", "requestMirror": {"cluster": "\(HTTPFilterChainTests.mirror)"}}]
        """)
        let filters = try HTTPFilter.compile(configs, clusters: [HTTPFilterChainTests.mirror], context: "route r")
        var bench = HTTPFilterChainTests.bench(ruleFilters: filters)
        var request = FilterRequest.get("/status/204", host: "httpbin.httpbin:14001", headers: [HeaderModifierFilterTests.userAgent])
        request.matchedPrefix = "/status"
        #expect(bench.decode(HTTPFilterChainTests.gatewayChain, &request) == .toRouter)
        #expect(request.head.path == "/stream/204")
        #expect(request.head.headers == [HTTPHeader(name: "header-2-add", value: "foo")])
        #expect(request.mirrors.map(\.cluster) == [HTTPFilterChainTests.mirror])
    }

    @Test(arguments: [
        (#"[{"type": "RequestRedirect", "requestRedirect": {"statusCode": 307}}]"#, "route r filter 1 (RequestRedirect): statusCode 307: expected 301 or 302"),
        (#"[{"type": "RequestRedirect", "requestRedirect": {"scheme": "ftp"}}]"#, "route r filter 1 (RequestRedirect): scheme \"ftp\": expected http or https"),
        (#"[{"type": "RequestRedirect", "requestRedirect": {"port": 0}}]"#, "route r filter 1 (RequestRedirect): port 0: expected 1-65535"),
        (#"[{"type": "URLRewrite", "urlRewrite": {"hostname": "Bad_Host"}}]"#, "route r filter 1 (URLRewrite): hostname \"Bad_Host\": expected a lower-case DNS name"),
        (#"[{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplaceFullPath"}}}]"#,
         "route r filter 1 (URLRewrite): path: ReplaceFullPath needs replaceFullPath (and no replacePrefixMatch)"),
        (#"[{"type": "RequestMirror", "requestMirror": {"cluster": "nowhere"}}]"#, "route r filter 1 (RequestMirror): cluster nowhere is not in ClustersConfigs"),
        (#"[{"type": "ResponseHeaderModifier", "responseHeaderModifier": {"set": [{"name": "A", "value": "1"}, {"name": "a", "value": "2"}]}}]"#,
         "route r filter 1 (ResponseHeaderModifier): set: header a appears twice"),
        (#"[{"type": "RequestHeaderModifier", "requestHeaderModifier": {"remove": ["bad header"]}}]"#,
         "route r filter 1 (RequestHeaderModifier): remove: \"bad header\" is not a header name"),
        (#"[{"type": "URLRewrite", "urlRewrite": {}}, {"type": "RequestRedirect", "requestRedirect": {}}]"#,
         "route r: RequestRedirect and URLRewrite may appear once, and not together"),
    ])
    func badFiltersRejectTheConfigWithOneLine(_ json: String, _ message: String) throws {
        let configs = try HTTPFilterChainTests.decode(json)
        let error = #expect(throws: ConfigRejection.self) { try HTTPFilter.compile(configs, clusters: [], context: "route r") }
        #expect(error?.description == message)
    }
}
