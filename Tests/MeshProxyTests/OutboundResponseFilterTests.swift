import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// The outbound router's answers run back through the response side of the filters the request
/// passed: the upstream's response, the router's own local replies, and a rule filter's reply.
/// (No sidecar config carries rule filters yet; the tests give them to the compiled tables.)
@Suite("Outbound response filters")
struct OutboundResponseFilterTests {
    static let stamp = HTTPFilter.headerModifier(HeaderModifierFilter(side: .response, set: [HTTPHeader(name: "server", value: "fsm/gateway")]))

    static func sidecar(endpoints: [String] = ["10.244.0.5:14001"], ruleFilters: [HTTPFilter]) -> Sidecar {
        var sidecar = Sidecar(config: Fixture.outbound(endpoints: endpoints))
        sidecar.compiled.outbound.matches[0].services[0].rules[0] = sidecar.compiled.outbound.matches[0].services[0].rules[0].with(filters: ruleFilters)
        return sidecar
    }

    @Test func theUpstreamsResponseIsModified() {
        var sidecar = OutboundResponseFilterTests.sidecar(ruleFilters: [OutboundResponseFilterTests.stamp])
        var random = SeededGenerator(seed: 1)
        let sent = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(sent.sends.count == 1)
        let upstream = HTTPResponseHead(status: 200, headers: [HTTPHeader(name: "Server", value: "gunicorn/19.9.0")])
        let answered = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: upstream, now: .zero, random: &random)
        #expect(answered.responses.map(\.head) == [HTTPResponseHead(status: 200, headers: [HTTPHeader(name: "Server", value: "fsm/gateway")])])
        #expect(answered.responses.first?.local == nil)
    }

    @Test func theRoutersLocalReplyIsModified() {
        var sidecar = OutboundResponseFilterTests.sidecar(endpoints: [], ruleFilters: [OutboundResponseFilterTests.stamp])
        var random = SeededGenerator(seed: 1)
        let actions = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(actions.responses.map(\.head) == [HTTPResponseHead(status: 503, headers: [HTTPHeader(name: "server", value: "fsm/gateway")])])
        #expect(actions.responses.first?.local == .noEndpoints)
    }

    @Test func aRuleRedirectAnswersWithoutReachingTheRouter() {
        let redirect = HTTPFilter.requestRedirect(RequestRedirectFilter(scheme: "https"))
        var sidecar = OutboundResponseFilterTests.sidecar(ruleFilters: [redirect])
        var random = SeededGenerator(seed: 1)
        let actions = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get("/get?a=1", host: "httpbin.httpbin:14001"), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(actions.sends.isEmpty)
        #expect(actions.responses.map(\.head) == [HTTPResponseHead(status: 302, headers: [HTTPHeader(name: "Location", value: "https://httpbin.httpbin/get?a=1")])])
        #expect(actions.responses.first?.local == .redirect)
        #expect(sidecar.clusterStat("upstream_rq_total") == 0)
    }
}
