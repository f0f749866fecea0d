import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// The connect timeout is the engine's: a timer per new connection from the cluster's
/// `ConnectTimeout` (5 s by default), cancelled when the shell reports the connection open (or
/// it goes); when it fires first the connect is abandoned and the attempt fails as a connect
/// failure, which `retryOn: connect-failure` retries.
@Suite("ConnectTimeout")
struct ConnectTimeoutTests {
    func settings(connectTimeout: MeshDuration) -> ConnectionSettings {
        var settings = ConnectionSettings()
        settings.tcp.connectTimeout = connectTimeout
        return settings
    }

    @Test func aNewConnectionGetsTheDefaultTimerAndOpeningCancelsIt() throws {
        var sidecar = Sidecar(config: Fixture.outbound())
        var random = SeededGenerator(seed: 1)
        let sent = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let send = try #require(sent.sends.first)
        #expect(send.isNew)
        #expect(sent.timers.contains { $0.timer == .connectTimeout(send.connection) && $0.after == .seconds(5) })
        #expect(sidecar.upstreamConnected(send.connection).cancelledTimers == [.connectTimeout(send.connection)])
        // Reported twice, or fired late: nothing happens.
        #expect(sidecar.upstreamConnected(send.connection).isEmpty)
        #expect(sidecar.timerFired(.connectTimeout(send.connection), now: seconds(5), random: &random).isEmpty)
        // A reused connection needs no timer.
        _ = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(10), random: &random)
        let reused = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: ms(20), random: &random)
        #expect(reused.sends.first?.isNew == false)
        #expect(!reused.timers.contains { if case .connectTimeout = $0.timer { true } else { false } })
        #expect(sidecar.clusterStat("upstream_cx_connect_timeout") == 0)
    }

    @Test func aConnectThatTakesTooLongIsAbandonedAndAnswered503() throws {
        var sidecar = Sidecar(config: Fixture.outbound(settings: settings(connectTimeout: .milliseconds(1500))))
        var random = SeededGenerator(seed: 2)
        let sent = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let send = try #require(sent.sends.first)
        #expect(sent.timers.contains { $0.timer == .connectTimeout(send.connection) && $0.after == .milliseconds(1500) })
        let timedOut = sidecar.timerFired(.connectTimeout(send.connection), now: ms(1500), random: &random)
        #expect(timedOut.closes == [send.connection])
        #expect(timedOut.responses.map(\.head.status) == [503])
        #expect(timedOut.responses.first?.local == .upstreamFailure)
        #expect(sidecar.clusterStat("upstream_cx_connect_timeout") == 1)
        #expect(sidecar.clusterStat("upstream_cx_active") == 0)
        // The connect completing late changes nothing.
        #expect(sidecar.upstreamConnected(send.connection).isEmpty)
        #expect(sidecar.occupancy == .empty)
    }

    @Test func connectFailureRetriesOnAnotherConnection() throws {
        let policy = RetryPolicy(retryOn: "connect-failure", numRetries: 1, retryBackoffBaseInterval: .milliseconds(10))
        var sidecar = Sidecar(config: Fixture.outbound(endpoints: ["10.244.0.5:14001", "10.244.0.6:14001"], settings: settings(connectTimeout: .seconds(1)), retry: policy))
        var random = SeededGenerator(seed: 3)
        let id = ExchangeID(4)
        let first = try #require(sidecar.outboundRequest(id, head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).sends.first)
        let timedOut = sidecar.timerFired(.connectTimeout(first.connection), now: seconds(1), random: &random)
        #expect(timedOut.timers.map(\.timer) == [.retryBackoff(id)])
        let retried = sidecar.timerFired(.retryBackoff(id), now: seconds(2), random: &random)
        let second = try #require(retried.sends.first)
        #expect(second.isNew && second.connection != first.connection && second.endpoint != first.endpoint)
        #expect(retried.timers.contains { $0.timer == .connectTimeout(second.connection) })
        #expect(sidecar.clusterStat("upstream_rq_retry") == 1)
    }

    @Test func aRefusedConnectCancelsItsTimerAndZeroDisablesIt() throws {
        var sidecar = Sidecar(config: Fixture.outbound())
        var random = SeededGenerator(seed: 4)
        let send = try #require(sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).sends.first)
        let refused = sidecar.upstreamConnectFailed(ExchangeID(1), attempt: send.attempt, now: ms(1), random: &random)
        #expect(refused.cancelledTimers.contains(.connectTimeout(send.connection)))
        #expect(refused.responses.map(\.head.status) == [503])

        var untimed = Sidecar(config: Fixture.outbound(settings: settings(connectTimeout: .zero)))
        let sent = untimed.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(!sent.timers.contains { if case .connectTimeout = $0.timer { true } else { false } })
    }
}
