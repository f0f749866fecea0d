import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// Egress passthrough (`Sidecar+Egress`, guides 3.8.1): with `enableEgress` an unmatched
/// destination gets a cluster of its own and the request goes there as is; without it, no route.
@Suite("Egress passthrough")
struct EgressPassthroughTests {
    static let outside = SocketAddress(ip: "203.0.113.10", port: 80)

    static func config(egress: Bool) -> ProxyConfig {
        var config = Fixture.outbound()
        config.spec.enableEgress = egress
        return config
    }

    @Test func anUnmatchedDestinationGoesToItselfWhenEgressIsOn() {
        var sidecar = Sidecar(config: Self.config(egress: true))
        var random = SeededGenerator(seed: 1)
        let first = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get("/get", host: "httpbin.org"), destination: Self.outside, now: .zero, random: &random)
        #expect(first.sends.map(\.cluster) == ["egress|203.0.113.10:80"])
        #expect(first.sends.map(\.endpoint) == [Self.outside])
        #expect(first.sends.first?.isNew == true)
        let done = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(1), random: &random)
        #expect(done.responses.map(\.head.status) == [200])
        // The same destination again: its cluster and pooled connection.
        let second = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get("/get", host: "httpbin.org"), destination: Self.outside, now: ms(2), random: &random)
        #expect(second.sends.map(\.isNew) == [false])
        #expect(sidecar.stats.value("outbound.egress_passthrough") == 2)
        #expect(sidecar.stats.value("cluster.egress|203.0.113.10:80.upstream_rq_2xx") == 1)
        // In-mesh destinations keep their routes.
        let inside = sidecar.outboundRequest(ExchangeID(3), head: Fixture.get(), destination: Fixture.httpbinIP, now: ms(3), random: &random)
        #expect(inside.sends.map(\.cluster) == [Fixture.httpbinCluster])
    }

    @Test func egressOffOrNoAddressMeansNoRoute() {
        var random = SeededGenerator(seed: 1)
        var off = Sidecar(config: Self.config(egress: false))
        #expect(off.outboundRequest(ExchangeID(1), head: Fixture.get(host: "httpbin.org"), destination: Self.outside, now: .zero, random: &random).responses.map(\.local) == [.noRoute])
        #expect(off.stats.value("outbound.no_route") == 1)
        var on = Sidecar(config: Self.config(egress: true))
        let unresolved = SocketAddress(ip: "0.0.0.0", port: 80)
        #expect(on.outboundRequest(ExchangeID(1), head: Fixture.get(host: "nowhere"), destination: unresolved, now: .zero, random: &random).responses.map(\.local) == [.noRoute])
        #expect(on.stats.value("outbound.egress_passthrough") == 0)
    }

    @Test func aConfigPushKeepsThePassthroughAndTurningEgressOffEndsIt() {
        var sidecar = Sidecar(config: Self.config(egress: true))
        var random = SeededGenerator(seed: 1)
        _ = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(host: "httpbin.org"), destination: Self.outside, now: .zero, random: &random)
        var pushed = Self.config(egress: true)
        pushed.version = "v2"
        _ = sidecar.apply(pushed)
        #expect(sidecar.takeConfigActions().isEmpty)
        let done = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(1), random: &random)
        #expect(done.responses.map(\.head.status) == [200])
        #expect(sidecar.clusterStat("upstream_cx_total", cluster: "egress|203.0.113.10:80") == 1)
        // Egress off: the request in flight still gets its answer, new ones have no route.
        _ = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(host: "httpbin.org"), destination: Self.outside, now: ms(2), random: &random)
        _ = sidecar.apply(Self.config(egress: false))
        _ = sidecar.takeConfigActions()
        let late = sidecar.upstreamResponse(ExchangeID(2), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(3), random: &random)
        #expect(late.responses.map(\.head.status) == [200])
        let refused = sidecar.outboundRequest(ExchangeID(3), head: Fixture.get(host: "httpbin.org"), destination: Self.outside, now: ms(4), random: &random)
        #expect(refused.responses.map(\.local) == [.noRoute])
    }
}
