import MeshModel
import MeshProxy
import NIOCore
import Testing
@testable import MeshRuntime

/// Which sockets a gateway config asks for, and what a new config opens and closes.
struct GatewayListenerPlanTests {
    typealias Socket = GatewayListenerPlan.Socket

    static func config(_ listeners: [(String, Int, GatewayListenerProtocol)]) -> GatewayConfig {
        GatewayConfig(gateway: "httpbin/simple-fsm-gateway", listeners: listeners.map { GatewayConfig.Listener(name: $0.0, port: $0.1, protocol: $0.2) })
    }

    @Test func oneSocketPerPortAndTransport() {
        let plan = GatewayListenerPlan(Self.config([
            ("https-foo", 443, .https), ("tls-bar", 443, .tls), ("http", 8000, .http), ("dns", 53, .udp), ("dns-tcp", 53, .tcp),
        ]))
        #expect(plan.sockets == [Socket(port: 53, kind: .tcp), Socket(port: 53, kind: .udp), Socket(port: 443, kind: .tls), Socket(port: 8000, kind: .http)])
        #expect(plan.conflicts.isEmpty)
    }

    @Test func aListenerOfAnotherKindOnATakenPortGetsNoSocket() {
        let plan = GatewayListenerPlan(Self.config([("http", 8000, .http), ("tcp", 8000, .tcp)]))
        #expect(plan.sockets == [Socket(port: 8000, kind: .http)])
        #expect(plan.conflicts == [.init(listener: "tcp", port: 8000, kind: .tcp, portKind: .http)])
    }

    @Test func aNewConfigClosesWhatItDropsAndOpensWhatItAdds() {
        let before = GatewayListenerPlan(Self.config([("foo", 8000, .tcp), ("bar", 8001, .tcp), ("udp", 9000, .udp)]))
        let after = GatewayListenerPlan(Self.config([("foo", 8000, .tcp), ("bar", 8001, .http), ("new", 8002, .http)]))
        let changes = before.changes(to: after)
        #expect(changes.close == [Socket(port: 8001, kind: .tcp), Socket(port: 9000, kind: .udp)])
        #expect(changes.open == [Socket(port: 8001, kind: .http), Socket(port: 8002, kind: .http)])
        #expect(GatewayListenerPlan().changes(to: before).open == before.sockets)
        #expect(after.changes(to: after).close.isEmpty && after.changes(to: after).open.isEmpty)
    }
}

/// A UDP listener's sessions: opened per client, kept alive by traffic either way, swept when idle.
struct GatewayUDPSessionsTests {
    @Test func sessionsAreKeptAliveByTrafficAndSweptWhenIdle() {
        var sessions = GatewayUDPSessions(idleTimeout: .seconds(60))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        let alice = MeshProxy.SocketAddress(ip: "10.0.0.1", port: 4000), bob = MeshProxy.SocketAddress(ip: "10.0.0.2", port: 4000)
        #expect(sessions.datagram(from: alice, at: start) == .open)
        sessions.opened(ConnectionID(1), for: alice, at: start)
        #expect(sessions.datagram(from: alice, at: start + .seconds(1)) == .forward(ConnectionID(1)))
        #expect(sessions.datagram(from: bob, at: start + .seconds(2)) == .open)
        sessions.opened(ConnectionID(2), for: bob, at: start + .seconds(2))
        // Alice's backend answers at 50 s: her session lives until 110 s; Bob's ends at 62 s.
        sessions.answered(alice, at: start + .seconds(50))
        #expect(sessions.sweep(at: start + .seconds(61)).isEmpty)
        let swept = sessions.sweep(at: start + .seconds(62))
        #expect(swept.map(\.id) == [ConnectionID(2)])
        #expect(sessions.count == 1)
        #expect(sessions.sweep(at: start + .seconds(110)).map(\.client) == [alice])
        #expect(sessions.datagram(from: alice, at: start + .seconds(111)) == .open)
    }

    @Test func aClosedSessionStartsAfreshAndNoTimeoutMeansNoSweep() {
        var sessions = GatewayUDPSessions(idleTimeout: .zero)
        let client = MeshProxy.SocketAddress(ip: "10.0.0.1", port: 4000)
        sessions.opened(ConnectionID(7), for: client, at: .uptimeNanoseconds(0))
        #expect(sessions.sweep(at: .uptimeNanoseconds(UInt64.max / 2)).isEmpty)
        sessions.closed(client)
        #expect(sessions.datagram(from: client, at: .uptimeNanoseconds(1)) == .open)
        #expect(GatewayUDPSessions(idleTimeout: .seconds(60)).sweepInterval == .seconds(1))
        #expect(GatewayUDPSessions(idleTimeout: .milliseconds(20)).sweepInterval == .milliseconds(10))
    }
}

/// Admission and counting per socket.
struct GatewayListenerCountersTests {
    @Test func overTheLimitIsRefusedAndCounted() {
        var counters = GatewayListenerCounters(limit: 2)
        let socket = GatewayListenerPlan.Socket(port: 8000, kind: .http)
        #expect(counters.opened(socket) == .admit)
        #expect(counters.opened(socket) == .admit)
        #expect(counters.opened(socket) == .refuse)
        #expect(counters.opened(GatewayListenerPlan.Socket(port: 8001, kind: .http)) == .admit)
        counters.closed(socket)
        #expect(counters.opened(socket) == .admit)
        #expect(counters.count(.connections, socket) == 3)
        #expect(counters.count(.overflow, socket) == 1)
        #expect(counters.active(socket) == 2)
    }
}
