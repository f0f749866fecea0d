import MeshModel
import Testing
@testable import MeshProxy

/// The listener-level filter order comes from the config (`Spec.Chains`), through the config's JSON.
@Suite("Configured filter chains")
struct ConfiguredChainTests {
    static let limit = RateLimitConfig(limit: 1, period: .seconds(60), capacity: 1)

    /// InboundTests' bookstore config with a route rate limit of one request, and `chains`, read
    /// back from its JSON as a sidecar gets it.
    static func sidecar(_ chains: HTTPChainsConfig?) throws -> Sidecar {
        var config = InboundTests.config(routeLimit: ConfiguredChainTests.limit)
        config.spec.chains = chains
        return Sidecar(config: try ProxyConfig(jsonText: config.renderedJSON()))
    }

    static func request(_ sidecar: inout Sidecar, peer: String?) -> InboundHTTPDecision {
        sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 14001, peerIdentity: peer, now: .zero)
    }

    @Test func theDefaultOrderChecksAccessBeforeTakingATokenFromTheRoute() throws {
        var sidecar = try ConfiguredChainTests.sidecar(nil)
        #expect(ConfiguredChainTests.request(&sidecar, peer: InboundTests.thief) == .respond(HTTPResponseHead(status: 403), .accessDenied))
        if case .forward = ConfiguredChainTests.request(&sidecar, peer: InboundTests.buyer) {} else { Issue.record("the buyer's request should pass") }
    }

    @Test func aConfiguredOrderIsTheOrderTheFiltersRunIn() throws {
        let chains = HTTPChainsConfig(inboundHTTP: ["http-routing", "throttle-route", "access-control"])
        var sidecar = try ConfiguredChainTests.sidecar(chains)
        // The route's only token goes to the thief's request before access control refuses it.
        #expect(ConfiguredChainTests.request(&sidecar, peer: InboundTests.thief) == .respond(HTTPResponseHead(status: 403), .accessDenied))
        #expect(ConfiguredChainTests.request(&sidecar, peer: InboundTests.buyer) == .respond(HTTPResponseHead(status: 429), .rateLimited))
    }

    @Test func aFilterLeftOutDoesNotRun() throws {
        var sidecar = try ConfiguredChainTests.sidecar(HTTPChainsConfig(inboundHTTP: ["http-routing", "throttle-route"]))
        if case .forward = ConfiguredChainTests.request(&sidecar, peer: nil) {} else { Issue.record("without access-control anyone passes") }
    }

    @Test(arguments: [
        (HTTPChainsConfig(inboundHTTP: ["http-routing", "fault"]),
         "Spec.Chains.InboundHTTP[1]: unknown filter \"fault\", expected one of http-routing, access-control, throttle-service, throttle-route, route-filters"),
        (HTTPChainsConfig(outboundHTTP: ["http-routing", "access-control"]),
         "Spec.Chains.OutboundHTTP[1]: unknown filter \"access-control\", expected one of http-routing, route-filters"),
        (HTTPChainsConfig(inboundHTTP: ["http-routing", "throttle-route", "throttle-route"]), "Spec.Chains.InboundHTTP[2]: throttle-route appears twice"),
        (HTTPChainsConfig(inboundHTTP: ["access-control", "http-routing"]),
         "Spec.Chains.InboundHTTP: expected http-routing first (the other filters act on the route it chooses)"),
        (HTTPChainsConfig(outboundHTTP: []), "Spec.Chains.OutboundHTTP: expected http-routing first (the other filters act on the route it chooses)"),
    ])
    func aBadChainRejectsTheConfigAndKeepsTheLastGoodOne(_ chains: HTTPChainsConfig, _ reason: String) throws {
        var sidecar = try ConfiguredChainTests.sidecar(nil)
        var config = InboundTests.config()
        config.spec.chains = chains
        #expect(sidecar.apply(config) == .rejected(reason: reason))
        #expect(sidecar.config?.spec.chains == nil)
        #expect(sidecar.stats.value("config_rejected") == 1)
    }
}
