import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// Egress through the egress gateway (`Sidecar+EgressGateway`, guides 3.8.2): what passthrough
/// or an Egress rule lets out goes to a gateway endpoint, with the destination as the tunnel
/// target; what they refuse never reaches it.
@Suite("Egress gateway engine")
struct EgressGatewayEngineTests {
    static let outside = SocketAddress(ip: "203.0.113.10", port: 443)
    static let gatewayA = SocketAddress(ip: "10.244.9.1", port: 1080)
    static let gatewayB = SocketAddress(ip: "10.244.9.2", port: 1080)

    static func config(egress: Bool = true, endpoints: [String] = ["10.244.9.1:1080"], rules: [EgressRule] = []) -> ProxyConfig {
        var config = Fixture.outbound()
        config.spec.enableEgress = egress
        config.spec.egressGateway = EgressGatewaySpec(service: "fsm/fsm-egress-gateway", endpoints: endpoints)
        if !rules.isEmpty { config.spec.egressPolicy = EgressPolicySpec(rules: rules) }
        return config
    }

    @Test func anHTTPRequestGoesToTheGatewayNamingItsDestination() {
        var sidecar = Sidecar(config: Self.config())
        var random = SeededGenerator(seed: 1)
        let destination = SocketAddress(ip: "203.0.113.10", port: 80)
        let sent = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get("/get", host: "httpbin.org"), destination: destination, now: .zero, random: &random)
        #expect(sent.sends.map(\.cluster) == ["egress|203.0.113.10:80"])
        #expect(sent.sends.map(\.endpoint) == [Self.gatewayA])
        #expect(sidecar.egressGatewayTarget(ofCluster: "egress|203.0.113.10:80") == destination)
        #expect(sidecar.stats.value("outbound.egress_gateway") == 1)
        // In-mesh traffic never goes through it.
        let inside = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: ms(1), random: &random)
        #expect(inside.sends.map(\.endpoint) != [Self.gatewayA])
        #expect(sidecar.egressGatewayTarget(ofCluster: Fixture.httpbinCluster) == nil)
        #expect(sidecar.stats.value("outbound.egress_gateway") == 1)
    }

    @Test func aTCPConnectionIsTunnelledAndAnEgressOffRefusalNeverReachesTheGateway() {
        var random = SeededGenerator(seed: 1)
        var on = Sidecar(config: Self.config())
        #expect(on.outboundConnection(ConnectionID(1), destination: Self.outside, now: .zero, random: &random)
            == .connect(cluster: "egress|203.0.113.10:443", endpoint: Self.gatewayA))
        #expect(on.egressGatewayTarget(ofCluster: "egress|203.0.113.10:443") == Self.outside)
        var off = Sidecar(config: Self.config(egress: false))
        #expect(off.outboundConnection(ConnectionID(1), destination: Self.outside, now: .zero, random: &random) == .reject(.noRoute))
        #expect(off.stats.value("outbound.egress_gateway") == 0)
    }

    @Test func anHTTPSRuleAllowsByServerNameThroughTheGateway() {
        let rule = EgressRule(policy: "curl/httpbin-443", port: 443, protocol: .https, hosts: ["httpbin.org"])
        var sidecar = Sidecar(config: Self.config(egress: false, rules: [rule]))
        var random = SeededGenerator(seed: 1)
        #expect(sidecar.outboundReadsServerName(to: Self.outside))
        #expect(!sidecar.outboundReadsServerName(to: SocketAddress(ip: "203.0.113.10", port: 8443)))
        #expect(sidecar.outboundConnection(ConnectionID(1), destination: Self.outside, serverName: "flomesh.io", now: .zero, random: &random) == .reject(.noRoute))
        #expect(sidecar.outboundConnection(ConnectionID(2), destination: Self.outside, serverName: "HTTPBIN.org", now: .zero, random: &random)
            == .connect(cluster: "egress|203.0.113.10:443", endpoint: Self.gatewayA))
    }

    @Test func destinationsSpreadOverTheEndpointsStably() {
        var sidecar = Sidecar(config: Self.config(endpoints: ["10.244.9.1:1080", "10.244.9.2:1080"]))
        var random = SeededGenerator(seed: 1)
        var picked: [SocketAddress: SocketAddress] = [:]
        for n in 1...8 {
            let destination = SocketAddress(ip: "203.0.113.\(n)", port: 443)
            guard case .connect(_, let endpoint) = sidecar.outboundConnection(ConnectionID(UInt64(n)), destination: destination, now: .zero, random: &random) else {
                Issue.record("refused \(destination)")
                continue
            }
            picked[destination] = endpoint
            // Again: the same endpoint.
            #expect(sidecar.outboundConnection(ConnectionID(UInt64(100 + n)), destination: destination, now: .zero, random: &random)
                == .connect(cluster: "egress|\(destination)", endpoint: endpoint))
        }
        #expect(Set(picked.values) == [Self.gatewayA, Self.gatewayB])
    }

    @Test func aGatewayWithoutEndpointsFailsEgressClosed() {
        var sidecar = Sidecar(config: Self.config(endpoints: []))
        var random = SeededGenerator(seed: 1)
        #expect(sidecar.outboundConnection(ConnectionID(1), destination: Self.outside, now: .zero, random: &random) == .reject(.noEndpoints))
        let request = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(host: "httpbin.org"), destination: SocketAddress(ip: "203.0.113.10", port: 80),
                                              now: .zero, random: &random)
        #expect(request.responses.map(\.local) == [.noEndpoints])
        #expect(request.sends.isEmpty)
    }

    @Test func anUnreachableGatewayIsAFailedConnect() throws {
        var sidecar = Sidecar(config: Self.config())
        var random = SeededGenerator(seed: 1)
        let sent = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(host: "httpbin.org"), destination: SocketAddress(ip: "203.0.113.10", port: 80),
                                           now: .zero, random: &random)
        let connection = try #require(sent.sends.first?.connection)
        let lost = sidecar.upstreamConnectionLost(connection, connectFailed: true, now: ms(1), random: &random)
        let flags = lost.compactMap { action -> ResponseFlags? in if case let .respond(_, _, _, flags) = action { flags } else { nil } }
        #expect(lost.responses.map(\.head.status) == [0])
        #expect(flags == [.upstreamConnectionFailure])
    }

    @Test func aPushThatAddsTheGatewayMovesNewEgressToIt() {
        var plain = Fixture.outbound()
        plain.spec.enableEgress = true
        var sidecar = Sidecar(config: plain)
        var random = SeededGenerator(seed: 1)
        #expect(sidecar.outboundConnection(ConnectionID(1), destination: Self.outside, now: .zero, random: &random)
            == .connect(cluster: "egress|203.0.113.10:443", endpoint: Self.outside))
        _ = sidecar.apply(Self.config())
        _ = sidecar.takeConfigActions()
        #expect(sidecar.outboundConnection(ConnectionID(2), destination: Self.outside, now: ms(1), random: &random)
            == .connect(cluster: "egress|203.0.113.10:443", endpoint: Self.gatewayA))
        var bad = Self.config()
        bad.spec.egressGateway?.endpoints = ["not-an-address"]
        bad.version = "bad"
        let result = sidecar.apply(bad)
        #expect(result == .rejected(reason: "egress gateway fsm/fsm-egress-gateway: bad endpoint address \"not-an-address\""), "\(result)")
    }
}
