import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// A filter that holds an outbound request (a fault delay): the engine parks it on a
/// `filterResume` timer and the router takes it when the timer fires; the route timeout starts
/// then, as Envoy's router starts it after the fault filter's delay.
@Suite("Outbound hold")
struct OutboundHoldTests {
    static let delay = HTTPFilter.faultInjection(FaultInjectionFilter(delay: .init(percent: 100, min: .seconds(1), max: .seconds(1))))

    static func sidecar(_ filters: [HTTPFilter]) -> Sidecar {
        var sidecar = Sidecar(config: Fixture.outbound())
        sidecar.compiled.outbound.matches[0].services[0].rules[0] = sidecar.compiled.outbound.matches[0].services[0].rules[0].with(filters: filters)
        return sidecar
    }

    @Test func aHeldRequestIsSentWhenItsTimerFires() {
        var sidecar = OutboundHoldTests.sidecar([OutboundHoldTests.delay])
        var random = SeededGenerator(seed: 1)
        let held = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(held == [.startTimer(.filterResume(ExchangeID(1)), after: .seconds(1))])
        #expect(sidecar.clusterStat("upstream_rq_total") == 0)
        let resumed = sidecar.timerFired(.filterResume(ExchangeID(1)), now: MeshInstant(nanoseconds: MeshDuration.seconds(1).nanoseconds), random: &random)
        #expect(resumed.sends.count == 1)
        #expect(resumed.requestTimers.count == 1, "the route timeout starts when the router takes the request")
        #expect(sidecar.timerFired(.filterResume(ExchangeID(1)), now: .zero, random: &random).isEmpty, "a second firing changes nothing")
    }

    @Test func anAbortAfterTheDelayAnswersWhenTheTimerFires() {
        let both = HTTPFilter.faultInjection(FaultInjectionFilter(delay: .init(percent: 100, min: .milliseconds(5), max: .milliseconds(5)),
                                                                  abort: .init(percent: 100, status: 404, message: nil)))
        var sidecar = OutboundHoldTests.sidecar([both])
        var random = SeededGenerator(seed: 1)
        _ = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let answered = sidecar.timerFired(.filterResume(ExchangeID(1)), now: .zero, random: &random)
        #expect(answered.responses.map(\.head.status) == [404])
        #expect(answered.responses.first?.local == .faultAbort)
        #expect(answered.sends.isEmpty)
    }

    @Test func aBodyThatOutgrewTheReplayBufferDuringTheHoldIsNotRetried() {
        var sidecar = Sidecar(config: Fixture.outbound(retry: RetryPolicy(retryOn: "5xx", numRetries: 3)))
        sidecar.compiled.outbound.matches[0].services[0].rules[0] = sidecar.compiled.outbound.matches[0].services[0].rules[0].with(filters: [OutboundHoldTests.delay])
        var random = SeededGenerator(seed: 1)
        _ = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(sidecar.requestBodyNotReplayable(ExchangeID(1)).isEmpty)
        let sent = sidecar.timerFired(.filterResume(ExchangeID(1)), now: .zero, random: &random)
        #expect(sent.sends.count == 1)
        let answered = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 503), now: .zero, random: &random)
        #expect(answered.responses.map(\.head.status) == [503])
        #expect(sidecar.clusterStat("upstream_rq_retry") == 0)
    }

    @Test func theAppGoingAwayDropsAHeldRequest() {
        var sidecar = OutboundHoldTests.sidecar([OutboundHoldTests.delay])
        var random = SeededGenerator(seed: 1)
        _ = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(sidecar.cancelOutbound(ExchangeID(1)) == [.cancelTimer(.filterResume(ExchangeID(1)))])
        #expect(sidecar.timerFired(.filterResume(ExchangeID(1)), now: .zero, random: &random).isEmpty)
    }

    @Test func aConfigAppliedDuringTheHoldRoutesTheRequestAnewWithoutASecondDelay() {
        var sidecar = OutboundHoldTests.sidecar([OutboundHoldTests.delay])
        var random = SeededGenerator(seed: 1)
        _ = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(sidecar.apply(Fixture.outbound(endpoints: ["10.244.0.9:14001"])) == .applied(version: "v1"))
        sidecar.compiled.outbound.matches[0].services[0].rules[0] = sidecar.compiled.outbound.matches[0].services[0].rules[0].with(filters: [OutboundHoldTests.delay])
        let resumed = sidecar.timerFired(.filterResume(ExchangeID(1)), now: .zero, random: &random)
        #expect(resumed.sends.map(\.endpoint) == [SocketAddress(ip: "10.244.0.9", port: 14001)])
    }
}
