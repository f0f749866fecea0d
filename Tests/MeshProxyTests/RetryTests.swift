import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

@Suite("Retry")
struct RetryTests {
    @Test func fiveRetriesOnA503GiveSixAttemptsAndTheDocumentedCounters() throws {
        let policy = RetryPolicy(retryOn: "5xx", perTryTimeout: .seconds(1), numRetries: 5, retryBackoffBaseInterval: .seconds(1))
        var sidecar = Sidecar(config: Fixture.outbound(endpoints: ["10.244.0.5:14001", "10.244.0.6:14001"], retry: policy))
        var random = SeededGenerator(seed: 7)
        let id = ExchangeID(1)
        var now = MeshInstant.zero
        var actions = sidecar.outboundRequest(id, head: Fixture.get("/status/503"), destination: Fixture.httpbinIP, now: now, random: &random)
        var attempts = 0
        var endpoints: [String] = []
        var final: HTTPResponseHead?
        while final == nil {
            let send = try #require(actions.sends.first)
            attempts += 1
            #expect(send.attempt == attempts)
            endpoints.append(send.endpoint.description)
            #expect(actions.timers.contains { $0.timer == .perTryTimeout(id, attempt: attempts) && $0.after == .seconds(1) })
            now = now + .milliseconds(5)
            actions = sidecar.upstreamResponse(id, attempt: send.attempt, head: HTTPResponseHead(status: 503), now: now, random: &random)
            if let response = actions.responses.first {
                final = response.head
                #expect(response.local == nil)
                break
            }
            let backoff = try #require(actions.timers.first)
            #expect(backoff.timer == .retryBackoff(id))
            #expect(backoff.after <= RetryBackoff.upperBound(retry: attempts, base: .seconds(1)))
            now = now + backoff.after
            actions = sidecar.timerFired(.retryBackoff(id), now: now, random: &random)
        }
        #expect(attempts == 6)
        #expect(final?.status == 503)
        // Each retry is a new endpoint pick: round robin alternates.
        #expect(endpoints == ["10.244.0.5:14001", "10.244.0.6:14001", "10.244.0.5:14001", "10.244.0.6:14001", "10.244.0.5:14001", "10.244.0.6:14001"])
        #expect(sidecar.clusterStat("upstream_rq_retry") == 5)
        #expect(sidecar.clusterStat("upstream_rq_retry_limit_exceeded") == 1)
        #expect(sidecar.clusterStat("upstream_rq_retry_backoff_exponential") == 5)
        #expect(sidecar.clusterStat("upstream_rq_retry_success") == 0)
        #expect(sidecar.clusterStat("upstream_rq_retry_overflow") == 0)
        #expect(sidecar.clusterStat("upstream_rq_total") == 6)
        #expect(sidecar.clusterStat("upstream_rq_5xx") == 6)
    }

    @Test func aRetryGoesToAnotherEndpointThanTheOneThatFailed() throws {
        let policy = RetryPolicy(retryOn: "5xx", numRetries: 2)
        var sidecar = Sidecar(config: Fixture.outbound(endpoints: ["10.244.0.5:14001", "10.244.0.6:14001"], retry: policy))
        var random = SeededGenerator(seed: 3)
        // Two requests in flight take the two endpoints in round-robin order.
        let first = try #require(sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).sends.first)
        let second = try #require(sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).sends.first)
        #expect(first.endpoint.description == "10.244.0.5:14001")
        #expect(second.endpoint.description == "10.244.0.6:14001")
        // The first fails; round robin's next pick would be .5 again, the retry must avoid it.
        let backoff = try #require(sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 0), now: ms(1), random: &random).timers.first)
        let retry = try #require(sidecar.timerFired(backoff.timer, now: ms(1) + backoff.after, random: &random).sends.first)
        #expect(retry.attempt == 2)
        #expect(retry.endpoint.description == "10.244.0.6:14001")
    }

    @Test func aBodyPastTheShellsReplayBufferIsNotRetried() throws {
        var sidecar = Sidecar(config: Fixture.outbound(retry: RetryPolicy(retryOn: "5xx", numRetries: 3)))
        var random = SeededGenerator(seed: 2)
        let sent = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get("/upload"), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(sent.sends.count == 1)
        // While the attempt is in flight the body outgrows the buffer: its 503 is final.
        #expect(sidecar.requestBodyNotReplayable(ExchangeID(1)).isEmpty)
        let answer = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 503), now: ms(3), random: &random)
        #expect(answer.responses.map(\.head.status) == [503])
        #expect(answer.responses.first?.local == nil)
        #expect(answer.timers.isEmpty)
        #expect(sidecar.clusterStat("upstream_rq_retry") == 0)

        // Outgrowing it while waiting out a retry backoff ends the exchange with 503 at once.
        _ = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get("/upload"), destination: Fixture.httpbinIP, now: ms(4), random: &random)
        let backoff = try #require(sidecar.upstreamResponse(ExchangeID(2), attempt: 1, head: HTTPResponseHead(status: 503), now: ms(5), random: &random).timers.first)
        let failed = sidecar.requestBodyNotReplayable(ExchangeID(2))
        #expect(failed.responses.map(\.head.status) == [503])
        #expect(failed.responses.first?.local == .upstreamFailure)
        // The backoff timer firing later finds nothing to resend.
        #expect(sidecar.timerFired(backoff.timer, now: ms(50), random: &random).sends.isEmpty)
        #expect(sidecar.clusterStat("upstream_rq_retry") == 1)
    }

    @Test func a404IsNotRetriedOn5xx() {
        var sidecar = Sidecar(config: Fixture.outbound(retry: RetryPolicy(retryOn: "5xx", numRetries: 5)))
        var random = SeededGenerator(seed: 1)
        let sent = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get("/status/404"), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(sent.sends.count == 1)
        let answer = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 404), now: ms(3), random: &random)
        #expect(answer.responses.map(\.head.status) == [404])
        #expect(answer.timers.isEmpty)
        #expect(sidecar.clusterStat("upstream_rq_retry") == 0)
        #expect(sidecar.clusterStat("upstream_rq_retry_limit_exceeded") == 0)
    }

    @Test func successAfterARetryIsCounted() throws {
        var sidecar = Sidecar(config: Fixture.outbound(retry: RetryPolicy(retryOn: "5xx", numRetries: 3)))
        var random = SeededGenerator(seed: 2)
        let id = ExchangeID(9)
        _ = sidecar.outboundRequest(id, head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let first = sidecar.upstreamResponse(id, attempt: 1, head: HTTPResponseHead(status: 502), now: ms(1), random: &random)
        let backoff = try #require(first.timers.first)
        #expect(backoff.after <= .milliseconds(25)) // default base 25 ms, first retry
        let resent = sidecar.timerFired(.retryBackoff(id), now: ms(30), random: &random)
        // The first connection was reused: one request per connection at a time, then idle.
        #expect(resent.sends.map(\.attempt) == [2])
        #expect(resent.sends.first?.isNew == false)
        let done = sidecar.upstreamResponse(id, attempt: 2, head: HTTPResponseHead(status: 200), now: ms(31), random: &random)
        #expect(done.responses.map(\.head.status) == [200])
        #expect(sidecar.clusterStat("upstream_rq_retry") == 1)
        #expect(sidecar.clusterStat("upstream_rq_retry_success") == 1)
        #expect(sidecar.clusterStat("upstream_rq_retry_limit_exceeded") == 0)
    }

    @Test func perTryTimeoutClosesTheAttemptAndRetriesThenGives504() throws {
        let policy = RetryPolicy(retryOn: "5xx", perTryTimeout: .seconds(1), numRetries: 1)
        var sidecar = Sidecar(config: Fixture.outbound(retry: policy))
        var random = SeededGenerator(seed: 3)
        let id = ExchangeID(4)
        let sent = sidecar.outboundRequest(id, head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let firstConnection = try #require(sent.sends.first?.connection)
        let timedOut = sidecar.timerFired(.perTryTimeout(id, attempt: 1), now: seconds(1), random: &random)
        #expect(timedOut.closes == [firstConnection])
        #expect(timedOut.responses.isEmpty)
        #expect(timedOut.timers.map(\.timer) == [.retryBackoff(id)])
        let retried = sidecar.timerFired(.retryBackoff(id), now: seconds(2), random: &random)
        let second = try #require(retried.sends.first)
        #expect(second.attempt == 2 && second.isNew && second.connection != firstConnection)
        // The late answer of attempt 1 changes nothing.
        let late = sidecar.upstreamResponse(id, attempt: 1, head: HTTPResponseHead(status: 200), now: seconds(2), random: &random)
        #expect(late.isEmpty)
        let expired = sidecar.timerFired(.perTryTimeout(id, attempt: 2), now: seconds(3), random: &random)
        #expect(expired.responses.map(\.head.status) == [504])
        #expect(expired.responses.first?.local == .perTryTimeout)
        #expect(sidecar.clusterStat("upstream_rq_retry_limit_exceeded") == 1)
        #expect(sidecar.clusterStat("upstream_rq_per_try_timeout") == 2)
        #expect(sidecar.clusterStat("upstream_cx_active") == 0)
        // A timer for an exchange that is over is ignored.
        #expect(sidecar.timerFired(.perTryTimeout(id, attempt: 2), now: seconds(4), random: &random).isEmpty)
    }

    @Test func staleAttemptAndUnknownExchangeAreIgnored() throws {
        var sidecar = Sidecar(config: Fixture.outbound(retry: RetryPolicy(retryOn: "5xx", numRetries: 2)))
        var random = SeededGenerator(seed: 4)
        let id = ExchangeID(5)
        _ = sidecar.outboundRequest(id, head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        _ = sidecar.upstreamResponse(id, attempt: 1, head: HTTPResponseHead(status: 500), now: ms(1), random: &random)
        // During backoff, attempt 1 answers again, and a made-up attempt 7 answers: both ignored.
        #expect(sidecar.upstreamResponse(id, attempt: 1, head: HTTPResponseHead(status: 200), now: ms(2), random: &random).isEmpty)
        #expect(sidecar.upstreamResponse(id, attempt: 7, head: HTTPResponseHead(status: 200), now: ms(2), random: &random).isEmpty)
        #expect(sidecar.upstreamResponse(ExchangeID(999), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(2), random: &random).isEmpty)
        #expect(sidecar.timerFired(.retryBackoff(ExchangeID(999)), now: ms(2), random: &random).isEmpty)
        #expect(sidecar.cancelOutbound(ExchangeID(999)).isEmpty)
        let resent = sidecar.timerFired(.retryBackoff(id), now: ms(50), random: &random)
        #expect(resent.sends.map(\.attempt) == [2])
        let done = sidecar.upstreamResponse(id, attempt: 2, head: HTTPResponseHead(status: 200), now: ms(51), random: &random)
        #expect(done.responses.map(\.head.status) == [200])
    }

    @Test func connectionFailureIsRetriedAndOtherwiseAnswered503() {
        var sidecar = Sidecar(config: Fixture.outbound(retry: RetryPolicy(retryOn: "5xx", numRetries: 1)))
        var random = SeededGenerator(seed: 5)
        let id = ExchangeID(1)
        _ = sidecar.outboundRequest(id, head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let reset = sidecar.upstreamResponse(id, attempt: 1, head: HTTPResponseHead(status: 0), now: ms(1), random: &random)
        // The connection is already gone: no close action, but a retry.
        #expect(reset.closes.isEmpty)
        #expect(reset.timers.map(\.timer) == [.retryBackoff(id)])
        let resent = sidecar.timerFired(.retryBackoff(id), now: ms(40), random: &random)
        #expect(resent.sends.first?.isNew == true)
        let failed = sidecar.upstreamResponse(id, attempt: 2, head: HTTPResponseHead(status: 0), now: ms(41), random: &random)
        #expect(failed.responses.map(\.head.status) == [503])
        #expect(failed.responses.first?.local == .upstreamFailure)
    }

    @Test func maxRetriesCapsConcurrentRetries() {
        var settings = ConnectionSettings()
        settings.http.maxRetries = 1
        var sidecar = Sidecar(config: Fixture.outbound(settings: settings, retry: RetryPolicy(retryOn: "5xx", numRetries: 3)))
        var random = SeededGenerator(seed: 6)
        _ = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        _ = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let first = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 503), now: ms(1), random: &random)
        #expect(first.timers.map(\.timer) == [.retryBackoff(ExchangeID(1))])
        let second = sidecar.upstreamResponse(ExchangeID(2), attempt: 1, head: HTTPResponseHead(status: 503), now: ms(1), random: &random)
        #expect(second.responses.map(\.head.status) == [503])
        #expect(sidecar.clusterStat("upstream_rq_retry_overflow") == 1)
        #expect(sidecar.clusterStat("upstream_rq_retry") == 1)
    }

    @Test func withoutAPolicyThereAreNoRetries() {
        var sidecar = Sidecar(config: Fixture.outbound())
        var random = SeededGenerator(seed: 8)
        _ = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let answer = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 503), now: ms(1), random: &random)
        #expect(answer.responses.map(\.head.status) == [503])
        #expect(answer.responses.first?.local == nil)
    }
}
