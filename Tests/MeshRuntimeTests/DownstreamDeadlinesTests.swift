@testable import MeshRuntime
import NIOCore
import Testing

/// The deadline state machine alone: which timer runs in which phase, and what its expiry means.
struct DownstreamDeadlinesTests {
    let idle = TimeAmount.seconds(60)
    let header = TimeAmount.seconds(10)

    @Test func idleThenHeadThenAnswerThenIdleAgain() {
        var deadlines = DownstreamDeadlines(idleTimeout: idle, headerTimeout: header)
        #expect(deadlines.connectionStarted() == .arm(idle))
        #expect(deadlines.timerFired() == .idle)
        #expect(deadlines.bytesArrived() == .arm(header))
        #expect(deadlines.timerFired() == .headTooSlow)
        #expect(deadlines.bytesArrived() == DownstreamDeadlines.Action.none)
        #expect(deadlines.headReceived() == .disarm)
        // Body bytes of this request arm nothing.
        #expect(deadlines.bytesArrived() == DownstreamDeadlines.Action.none)
        #expect(deadlines.timerFired() == nil)
        #expect(deadlines.requestEnded() == DownstreamDeadlines.Action.none)
        #expect(deadlines.timerFired() == nil)
        #expect(deadlines.responseFinished() == .arm(idle))
        #expect(deadlines.timerFired() == .idle)
    }

    @Test func bytesOfAPipelinedRequestStartTheHeaderDeadlineAfterTheResponse() {
        var deadlines = DownstreamDeadlines(idleTimeout: idle, headerTimeout: header)
        _ = deadlines.connectionStarted()
        _ = deadlines.bytesArrived()
        _ = deadlines.headReceived()
        _ = deadlines.requestEnded()
        #expect(deadlines.bytesArrived() == DownstreamDeadlines.Action.none)
        #expect(deadlines.responseFinished() == .arm(header))
        #expect(deadlines.timerFired() == .headTooSlow)
    }

    @Test func zeroTimeoutsDisarm() {
        var deadlines = DownstreamDeadlines(idleTimeout: .zero, headerTimeout: .zero)
        #expect(deadlines.connectionStarted() == .disarm)
        #expect(deadlines.bytesArrived() == .disarm)
    }

    @Test func localAnswerWithoutABodyEndStillReturnsToIdle() {
        // A request answered before its end arrived (413, or a local answer): the response ends it.
        var deadlines = DownstreamDeadlines(idleTimeout: idle, headerTimeout: header)
        _ = deadlines.connectionStarted()
        _ = deadlines.bytesArrived()
        _ = deadlines.headReceived()
        #expect(deadlines.responseFinished() == .arm(idle))
    }
}
