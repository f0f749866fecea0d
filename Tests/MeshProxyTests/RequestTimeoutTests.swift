import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// The route timeout is the engine's: a timer per exchange from the cluster's `RequestTimeout`
/// (60 s by default), cancelled when the exchange ends, and a 504 with `upstream_rq_timeout`
/// when it fires first, whatever the exchange was waiting for.
@Suite("RequestTimeout")
struct RequestTimeoutTests {
    let cluster = Fixture.httpbinCluster


    func settings(timeout: MeshDuration? = nil, maxConnections: Int? = nil) -> ConnectionSettings {
        var settings = ConnectionSettings()
        if let timeout { settings.http.requestTimeout = timeout }
        if let maxConnections { settings.tcp.maxConnections = maxConnections }
        return settings
    }

    @Test func everyExchangeGetsTheDefaultTimerAndItsAnswerCancelsIt() throws {
        var sidecar = Sidecar(config: Fixture.outbound())
        var random = SeededGenerator(seed: 1)
        let id = ExchangeID(1)
        let sent = sidecar.outboundRequest(id, head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(sent.requestTimers.map(\.timer) == [.requestTimeout(id)])
        #expect(sent.requestTimers.first?.after == .seconds(60))
        let send = try #require(sent.sends.first)
        let answered = sidecar.upstreamResponse(id, attempt: send.attempt, head: HTTPResponseHead(status: 200), now: ms(3), random: &random)
        #expect(answered.responses.map(\.head.status) == [200])
        #expect(answered.cancelledTimers.contains(.requestTimeout(id)))
        // Had the shell kept the timer, its firing changes nothing.
        #expect(sidecar.timerFired(.requestTimeout(id), now: seconds(60), random: &random).isEmpty)
        #expect(sidecar.clusterStat("upstream_rq_timeout") == 0)
    }

    @Test func anAttemptInFlightIsAbandonedWithItsConnectionAndTheAppGets504() throws {
        var sidecar = Sidecar(config: Fixture.outbound(settings: settings(timeout: .milliseconds(2500))))
        var random = SeededGenerator(seed: 2)
        let id = ExchangeID(7)
        let sent = sidecar.outboundRequest(id, head: Fixture.get("/delay/10"), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(sent.requestTimers.first?.after == .milliseconds(2500))
        let connection = try #require(sent.sends.first?.connection)
        let timedOut = sidecar.timerFired(.requestTimeout(id), now: ms(2500), random: &random)
        #expect(timedOut.closes == [connection])
        #expect(timedOut.responses.map(\.head.status) == [504])
        #expect(timedOut.responses.first?.local == .requestTimeout)
        #expect(!timedOut.cancelledTimers.contains(.requestTimeout(id)))
        #expect(sidecar.clusterStat("upstream_rq_timeout") == 1)
        #expect(sidecar.clusterStat("upstream_rq_active") == 0)
        #expect(sidecar.clusterStat("upstream_cx_active") == 0)
        // The late answer of the abandoned attempt is ignored.
        #expect(sidecar.upstreamResponse(id, attempt: 1, head: HTTPResponseHead(status: 200), now: seconds(10), random: &random).isEmpty)
        #expect(sidecar.occupancy == .empty)
    }

    @Test func aQueuedRequestTimesOutAndLeavesTheQueue() throws {
        var sidecar = Sidecar(config: Fixture.outbound(settings: settings(timeout: .seconds(1), maxConnections: 1)))
        var random = SeededGenerator(seed: 3)
        let first = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get("/delay/5"), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let firstSend = try #require(first.sends.first)
        let queued = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: ms(100), random: &random)
        #expect(queued.sends.isEmpty)
        #expect(sidecar.clusterStat("upstream_rq_pending_active") == 1)
        let timedOut = sidecar.timerFired(.requestTimeout(ExchangeID(2)), now: ms(1100), random: &random)
        #expect(timedOut.responses.map(\.head.status) == [504])
        #expect(timedOut.closes.isEmpty)
        #expect(sidecar.clusterStat("upstream_rq_pending_active") == 0)
        // The connection it waited for frees up later and serves nobody.
        let answered = sidecar.upstreamResponse(ExchangeID(1), attempt: firstSend.attempt, head: HTTPResponseHead(status: 200), now: ms(1200), random: &random)
        #expect(answered.sends.isEmpty)
        #expect(answered.responses.map(\.exchange) == [ExchangeID(1)])
        #expect(sidecar.clusterStat("upstream_rq_timeout") == 1)
    }

    @Test func theTimeoutCoversRetriesAndEndsABackoff() throws {
        let policy = RetryPolicy(retryOn: "5xx", numRetries: 3, retryBackoffBaseInterval: .seconds(1))
        var sidecar = Sidecar(config: Fixture.outbound(settings: settings(timeout: .seconds(2)), retry: policy))
        var random = SeededGenerator(seed: 4)
        let id = ExchangeID(9)
        let sent = sidecar.outboundRequest(id, head: Fixture.get("/status/503"), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let send = try #require(sent.sends.first)
        let failed = sidecar.upstreamResponse(id, attempt: send.attempt, head: HTTPResponseHead(status: 503), now: ms(10), random: &random)
        #expect(failed.timers.map(\.timer) == [.retryBackoff(id)])
        let timedOut = sidecar.timerFired(.requestTimeout(id), now: seconds(2), random: &random)
        #expect(timedOut.responses.map(\.head.status) == [504])
        #expect(timedOut.closes.isEmpty)
        // The backoff's end finds nothing to retry, and the retry slot is free again.
        #expect(sidecar.timerFired(.retryBackoff(id), now: seconds(3), random: &random).isEmpty)
        #expect(sidecar.occupancy.exchanges == 0)
        #expect(sidecar.clusterStat("upstream_rq_retry") == 1)
        #expect(sidecar.clusterStat("upstream_rq_timeout") == 1)
    }

    @Test func zeroDisablesTheTimeoutAndTheAppLeavingCancelsIt() throws {
        var sidecar = Sidecar(config: Fixture.outbound(settings: settings(timeout: .zero)))
        var random = SeededGenerator(seed: 5)
        let untimed = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(untimed.requestTimers.isEmpty)
        #expect(!sidecar.cancelOutbound(ExchangeID(1)).cancelledTimers.contains(.requestTimeout(ExchangeID(1))))

        var timed = Sidecar(config: Fixture.outbound())
        _ = timed.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(timed.cancelOutbound(ExchangeID(2)).cancelledTimers.contains(.requestTimeout(ExchangeID(2))))
    }

    @Test func aQueuedRequestWhoseClusterLeavesHasItsTimerCancelled() throws {
        let other = ClusterConfig(name: "other|80", endpoints: [ClusterEndpoint(address: "10.244.0.9:80")])
        var sidecar = Sidecar(config: Fixture.outbound(settings: settings(maxConnections: 1)))
        var random = SeededGenerator(seed: 6)
        _ = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        _ = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        var config = Fixture.outbound(rules: [RouteRule(targetClusters: [WeightedCluster(name: other.name, weight: 100)])], extraClusters: [other])
        config.outbound.clustersConfigs.removeAll { $0.name == cluster }
        config.version = "v2"
        _ = sidecar.apply(config)
        let actions = sidecar.takeConfigActions()
        #expect(actions.responses.map(\.exchange) == [ExchangeID(2)])
        #expect(actions.cancelledTimers.contains(.requestTimeout(ExchangeID(2))))
    }

    @Test func theConfigFieldIsWrittenOnlyWhenItDiffersFromTheDefault() throws {
        let plain = Fixture.outbound(settings: ConnectionSettings())
        #expect(!plain.renderedJSON(pretty: false).contains("RequestTimeout"))
        let short = Fixture.outbound(settings: settings(timeout: .milliseconds(1500)))
        let text = short.renderedJSON(pretty: false)
        #expect(text.contains("\"RequestTimeout\":1.5"))
        let decoded = try ProxyConfig(jsonText: text)
        #expect(decoded.outbound.clustersConfigs.first?.connectionSettings?.http.requestTimeout == .milliseconds(1500))
        #expect(try ProxyConfig(jsonText: plain.renderedJSON(pretty: false)).outbound.clustersConfigs.first?.connectionSettings?.http.requestTimeout == .seconds(60))
    }
}
