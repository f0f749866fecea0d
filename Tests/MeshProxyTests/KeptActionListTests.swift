import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// A shell may keep one action list across engine calls (the simulator does): each `into:` call
/// appends what its returning twin returns, after whatever the list already held, and follows
/// (tracing) only its own actions.
@Suite struct KeptActionListTests {
    /// What a shell left in its list before the call: never touched, never traced.
    static let earlier = OutboundHTTPAction.closeUpstream(UpstreamConnectionID(999))

    @Test func everyCallAppendsWhatItsTwinReturns() throws {
        var returning = TracingEngineTests.traced(Fixture.outbound())
        var keeping = TracingEngineTests.traced(Fixture.outbound())
        var randomA = SeededGenerator(seed: 9)
        var randomB = SeededGenerator(seed: 9)
        var list: [OutboundHTTPAction] = [Self.earlier]
        let id = ExchangeID(1)

        let sent = returning.outboundRequest(id, head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &randomA)
        keeping.outboundRequest(id, head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &randomB, into: &list)
        #expect(list == [Self.earlier] + sent)
        let send = try #require(sent.sends.first)

        list = [Self.earlier]
        let connected = returning.upstreamConnected(send.connection)
        keeping.upstreamConnected(send.connection, into: &list)
        #expect(list == [Self.earlier] + connected)

        list = [Self.earlier]
        let answered = returning.upstreamResponse(id, attempt: send.attempt, head: HTTPResponseHead(status: 200), now: ms(2), random: &randomA)
        keeping.upstreamResponse(id, attempt: send.attempt, head: HTTPResponseHead(status: 200), now: ms(2), random: &randomB, into: &list)
        #expect(list == [Self.earlier] + answered)
        #expect(answered.responses.map(\.head.status) == [200])

        // Both ended the traced exchange's client span once.
        #expect(returning.takeSpans().count == 1)
        #expect(keeping.takeSpans().count == 1)

        list = [Self.earlier]
        let lost = returning.upstreamConnectionLost(send.connection, now: ms(3), random: &randomA)
        keeping.upstreamConnectionLost(send.connection, now: ms(3), random: &randomB, into: &list)
        #expect(list == [Self.earlier] + lost)
        #expect(returning.occupancy == .empty && keeping.occupancy == .empty)
    }

    @Test func timersAndFailedConnectsAppendAlike() throws {
        var returning = Sidecar(config: Fixture.outbound())
        var keeping = Sidecar(config: Fixture.outbound())
        var randomA = SeededGenerator(seed: 10)
        var randomB = SeededGenerator(seed: 10)
        var list: [OutboundHTTPAction] = []
        let id = ExchangeID(4)
        let sent = returning.outboundRequest(id, head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &randomA)
        keeping.outboundRequest(id, head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &randomB, into: &list)
        let send = try #require(sent.sends.first)

        list = [Self.earlier]
        let failed = returning.upstreamConnectFailed(id, attempt: send.attempt, now: ms(1), random: &randomA)
        keeping.upstreamConnectFailed(id, attempt: send.attempt, now: ms(1), random: &randomB, into: &list)
        #expect(list == [Self.earlier] + failed)
        #expect(failed.responses.map(\.head.status) == [503])

        list = [Self.earlier]
        let fired = returning.timerFired(.requestTimeout(id), now: seconds(60), random: &randomA)
        keeping.timerFired(.requestTimeout(id), now: seconds(60), random: &randomB, into: &list)
        #expect(list == [Self.earlier] + fired)
    }
}
