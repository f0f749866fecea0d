import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// A config that lowers a cluster's connection limit governs the next request: connections above
/// the new limit are drained (idle ones closed at once, busy ones when their request is over),
/// never reused.
@Suite("LimitChange")
struct LimitChangeTests {
    func config(maxConnections: Int, version: String) -> ProxyConfig {
        var settings = ConnectionSettings()
        settings.tcp.maxConnections = maxConnections
        var config = Fixture.outbound(settings: settings)
        config.version = version
        return config
    }

    @Test func loweringTheLimitDrainsIdleThenBusyConnections() throws {
        var sidecar = Sidecar(config: config(maxConnections: 4, version: "v1"))
        var random = SeededGenerator(seed: 1)
        // Four connections: the first two answered (idle), the last two busy.
        var sends: [(exchange: ExchangeID, connection: UpstreamConnectionID)] = []
        for n in 1...4 {
            let send = try #require(sidecar.outboundRequest(ExchangeID(UInt64(n)), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).sends.first)
            #expect(send.isNew)
            sends.append((send.exchange, send.connection))
        }
        for index in 0..<2 {
            _ = sidecar.upstreamResponse(sends[index].exchange, attempt: 1, head: HTTPResponseHead(status: 200), now: ms(1), random: &random)
        }
        #expect(sidecar.clusterStat("upstream_cx_active") == 4)

        _ = sidecar.apply(config(maxConnections: 1, version: "v2"))
        let applied = sidecar.takeConfigActions()
        #expect(Set(applied.closes) == [sends[0].connection, sends[1].connection])
        #expect(sidecar.clusterStat("upstream_cx_active") == 2)
        // The older busy connection is over the limit: closed once answered, not pooled.
        let third = sidecar.upstreamResponse(sends[2].exchange, attempt: 1, head: HTTPResponseHead(status: 200), now: ms(2), random: &random)
        #expect(third.closes == [sends[2].connection])
        let fourth = sidecar.upstreamResponse(sends[3].exchange, attempt: 1, head: HTTPResponseHead(status: 200), now: ms(2), random: &random)
        #expect(fourth.closes.isEmpty)
        #expect(sidecar.clusterStat("upstream_cx_active") == 1)
        // The next request reuses the one connection within the limit.
        let next = try #require(sidecar.outboundRequest(ExchangeID(5), head: Fixture.get(), destination: Fixture.httpbinIP, now: ms(3), random: &random).sends.first)
        #expect(!next.isNew && next.connection == sends[3].connection)
        // A second one waits for it instead of opening another.
        let queued = sidecar.outboundRequest(ExchangeID(6), head: Fixture.get(), destination: Fixture.httpbinIP, now: ms(3), random: &random)
        #expect(queued.sends.isEmpty)
        #expect(sidecar.clusterStat("upstream_rq_pending_active") == 1)
    }

    @Test func raisingTheLimitKeepsThePool() throws {
        var sidecar = Sidecar(config: config(maxConnections: 1, version: "v1"))
        var random = SeededGenerator(seed: 2)
        let send = try #require(sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).sends.first)
        _ = sidecar.upstreamResponse(send.exchange, attempt: 1, head: HTTPResponseHead(status: 200), now: ms(1), random: &random)
        _ = sidecar.apply(config(maxConnections: 8, version: "v2"))
        #expect(sidecar.takeConfigActions().isEmpty)
        let next = try #require(sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: ms(2), random: &random).sends.first)
        #expect(!next.isNew && next.connection == send.connection)
    }
}
