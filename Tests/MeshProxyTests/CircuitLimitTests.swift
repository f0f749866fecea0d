import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

@Suite("Connection pool and circuit limits")
struct CircuitLimitTests {
    /// Only an overflow says "overloaded" (Envoy's x-envoy-overloaded): a cluster without endpoints
    /// and a connection that could not be opened are plain 503s.
    @Test func onlyAnOverflowIsMarkedOverloaded() throws {
        var empty = Sidecar(config: Fixture.outbound(endpoints: []))
        var random = SeededGenerator(seed: 1)
        let none = try #require(empty.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).responses.first)
        #expect(none.head.status == 503 && none.local == .noEndpoints)
        #expect(none.head.header("x-fsm-overloaded") == nil)

        var sidecar = Sidecar(config: Fixture.outbound())
        let sent = try #require(sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).sends.first)
        let failed = try #require(sidecar.upstreamConnectFailed(ExchangeID(2), attempt: sent.attempt, now: ms(1), random: &random).responses.first)
        #expect(failed.head.status == 503 && failed.local == .upstreamFailure)
        #expect(failed.head.header("x-fsm-overloaded") == nil)
    }

    @Test func oneConnectionOnePendingThreeRequests() throws {
        var settings = ConnectionSettings()
        settings.tcp.maxConnections = 1
        settings.http.maxPendingRequests = 1
        var sidecar = Sidecar(config: Fixture.outbound(settings: settings))
        var random = SeededGenerator(seed: 1)
        let a = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let b = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let c = sidecar.outboundRequest(ExchangeID(3), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let first = try #require(a.sends.first)
        #expect(first.isNew)
        #expect(b.sends.isEmpty && b.responses.isEmpty) // queued
        let rejected = try #require(c.responses.first)
        #expect(rejected.head.status == 503 && rejected.local == .pendingOverflow)
        #expect(rejected.head.header("x-fsm-overloaded") == "true")
        #expect(sidecar.clusterStat("upstream_rq_pending_overflow") == 1)
        #expect(sidecar.clusterStat("upstream_cx_overflow") == 2)
        #expect(sidecar.clusterStat("upstream_rq_pending_active") == 1)

        let done = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(2), random: &random)
        #expect(done.responses.map(\.exchange) == [ExchangeID(1)])
        // The freed connection serves the queued request.
        let next = try #require(done.sends.first)
        #expect(next.exchange == ExchangeID(2) && next.connection == first.connection && !next.isNew)
        #expect(sidecar.clusterStat("upstream_rq_pending_active") == 0)
        #expect(sidecar.clusterStat("upstream_cx_total") == 1)
    }

    @Test func maxRequestsPerConnectionClosesConnections() throws {
        var settings = ConnectionSettings()
        settings.tcp.maxConnections = 1
        settings.http.maxPendingRequests = 10
        settings.http.maxRequestsPerConnection = 1
        var sidecar = Sidecar(config: Fixture.outbound(settings: settings))
        var random = SeededGenerator(seed: 1)
        let a = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        _ = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let firstConnection = try #require(a.sends.first?.connection)
        let done = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(1), random: &random)
        #expect(done.closes == [firstConnection])
        let next = try #require(done.sends.first)
        #expect(next.exchange == ExchangeID(2) && next.isNew && next.connection != firstConnection)
        let last = sidecar.upstreamResponse(ExchangeID(2), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(2), random: &random)
        #expect(last.closes == [next.connection])
        #expect(sidecar.clusterStat("upstream_cx_total") == 2)
        #expect(sidecar.clusterStat("upstream_cx_active") == 0)
    }

    @Test func idleConnectionsAreReusedPerEndpoint() throws {
        var sidecar = Sidecar(config: Fixture.outbound())
        var random = SeededGenerator(seed: 1)
        var connectionsSeen: Set<UpstreamConnectionID> = []
        for n in 1...5 {
            let sent = sidecar.outboundRequest(ExchangeID(UInt64(n)), head: Fixture.get(), destination: Fixture.httpbinIP, now: ms(Int64(n)), random: &random)
            let send = try #require(sent.sends.first)
            #expect(send.isNew == (n == 1))
            connectionsSeen.insert(send.connection)
            _ = sidecar.upstreamResponse(ExchangeID(UInt64(n)), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(Int64(n)), random: &random)
        }
        #expect(connectionsSeen.count == 1)
        #expect(sidecar.clusterStat("upstream_rq_2xx") == 5)
        #expect(sidecar.clusterStat("upstream_cx_active") == 1)
    }

    @Test func maxRequestsCapsInFlight() {
        var settings = ConnectionSettings()
        settings.http.maxRequests = 2
        var sidecar = Sidecar(config: Fixture.outbound(settings: settings))
        var random = SeededGenerator(seed: 1)
        var statuses: [Int] = []
        var sent = 0
        for n in 1...3 {
            let actions = sidecar.outboundRequest(ExchangeID(UInt64(n)), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
            sent += actions.sends.count
            statuses += actions.responses.map(\.head.status)
        }
        #expect(sent == 2 && statuses == [503])
        #expect(sidecar.clusterStat("upstream_rq_overflow") == 1)
    }

    @Test func cancellingFreesTheQueueAndTheConnection() throws {
        var settings = ConnectionSettings()
        settings.tcp.maxConnections = 1
        var sidecar = Sidecar(config: Fixture.outbound(settings: settings))
        var random = SeededGenerator(seed: 1)
        let a = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        _ = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        _ = sidecar.outboundRequest(ExchangeID(3), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let left = sidecar.cancelOutbound(ExchangeID(2))
        #expect(left.sends.isEmpty && left.responses.isEmpty && left.closes.isEmpty)
        let cancelled = sidecar.cancelOutbound(ExchangeID(1))
        #expect(cancelled.closes == [try #require(a.sends.first?.connection)])
        // 2 left the queue, so 3 goes next, on a new connection.
        #expect(cancelled.sends.map(\.exchange) == [ExchangeID(3)])
        #expect(cancelled.sends.first?.isNew == true)
        #expect(sidecar.clusterStat("upstream_cx_active") == 1)
        #expect(sidecar.clusterStat("upstream_rq_pending_active") == 0)
    }

    @Test func idleConnectionLostIsForgotten() throws {
        var sidecar = Sidecar(config: Fixture.outbound())
        var random = SeededGenerator(seed: 1)
        let a = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let connection = try #require(a.sends.first?.connection)
        _ = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(1), random: &random)
        #expect(sidecar.upstreamConnectionLost(connection, now: ms(2), random: &random).isEmpty)
        #expect(sidecar.clusterStat("upstream_cx_active") == 0)
        let b = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: ms(2), random: &random)
        #expect(b.sends.first?.isNew == true)
        // Unknown connection ids are ignored.
        #expect(sidecar.upstreamConnectionLost(UpstreamConnectionID(12345), now: ms(3), random: &random).isEmpty)
    }

    @Test func busyConnectionLostEndsTheAttemptLikeAReset() throws {
        // With a retry policy the request goes to the other endpoint; without, it is answered 503.
        var withRetry = Sidecar(config: Fixture.outbound(endpoints: ["10.244.0.5:14001", "10.244.0.6:14001"], retry: RetryPolicy(retryOn: "5xx", numRetries: 1)))
        var random = SeededGenerator(seed: 2)
        let sent = try #require(withRetry.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).sends.first)
        let lost = withRetry.upstreamConnectionLost(sent.connection, now: ms(1), random: &random)
        #expect(lost.responses.isEmpty)
        let backoff = try #require(lost.timers.first)
        let retry = try #require(withRetry.timerFired(backoff.timer, now: ms(1) + backoff.after, random: &random).sends.first)
        #expect(retry.endpoint != sent.endpoint)

        var plain = Sidecar(config: Fixture.outbound())
        let only = try #require(plain.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).sends.first)
        let answer = try #require(plain.upstreamConnectionLost(only.connection, now: ms(1), random: &random).responses.first)
        #expect(answer.head.status == 503)
        #expect(answer.local == .upstreamFailure)
        #expect(plain.clusterStat("upstream_cx_active") == 0)
    }

    @Test func tcpMaxConnectionsCapsOutboundTCP() {
        var settings = ConnectionSettings()
        settings.tcp.maxConnections = 1
        let match = OutboundTrafficMatch(port: 3306, appProtocol: .tcp, destinationIPRanges: ["10.96.0.20/32"], targetClusters: [WeightedCluster(name: "db/mysql|3306", weight: 100)], serviceIdentity: "mysql.db.cluster.local")
        let config = ProxyConfig(serviceIdentity: "app.app.cluster.local", outbound: OutboundConfig(trafficMatches: [match], clustersConfigs: [ClusterConfig(name: "db/mysql|3306", endpoints: [ClusterEndpoint(address: "10.244.1.9:3306")], connectionSettings: settings)]))
        var sidecar = Sidecar(config: config)
        var random = SeededGenerator(seed: 1)
        let destination = SocketAddress(ip: "10.96.0.20", port: 3306)
        #expect(sidecar.outboundConnection(ConnectionID(1), destination: destination, now: .zero, random: &random) == .connect(cluster: "db/mysql|3306", endpoint: SocketAddress(ip: "10.244.1.9", port: 3306)))
        #expect(sidecar.outboundConnection(ConnectionID(2), destination: destination, now: .zero, random: &random) == .reject(.connectionOverflow))
        sidecar.outboundConnectionClosed(ConnectionID(1))
        #expect(sidecar.outboundConnection(ConnectionID(3), destination: destination, now: .zero, random: &random) == .connect(cluster: "db/mysql|3306", endpoint: SocketAddress(ip: "10.244.1.9", port: 3306)))
        #expect(sidecar.outboundConnection(ConnectionID(4), destination: SocketAddress(ip: "10.96.0.21", port: 3306), now: .zero, random: &random) == .reject(.noRoute))
        #expect(sidecar.stats.value("cluster.db/mysql|3306.upstream_cx_overflow") == 1)
        #expect(sidecar.stats.value("cluster.db/mysql|3306.upstream_cx_total") == 2)
    }
}
