@testable import MeshRuntime
import NIOCore
import Testing

/// The deadline state machine alone: which timer runs in which phase, and what its expiry means.
struct DownstreamDeadlinesTests {
    let idle = TimeAmount.seconds(60)
    let header = TimeAmount.seconds(10)

    @Test func idleThenHeadThenAnswerThenIdleAgain() {
        var deadlines = DownstreamDeadlines(idleTimeout: idle, headerTimeout: header)
        // A new connection waits for its first byte no longer than for a whole head.
        #expect(deadlines.connectionStarted() == .arm(header))
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

    @Test func aNewConnectionWaitsForTheShorterOfTheIdleAndHeaderTimeouts() {
        var shortIdle = DownstreamDeadlines(idleTimeout: .seconds(2), headerTimeout: header)
        #expect(shortIdle.connectionStarted() == .arm(.seconds(2)))
        var noHeader = DownstreamDeadlines(idleTimeout: idle, headerTimeout: .zero)
        #expect(noHeader.connectionStarted() == .arm(idle))
        var noIdle = DownstreamDeadlines(idleTimeout: .zero, headerTimeout: header)
        #expect(noIdle.connectionStarted() == .arm(header))
    }

    @Test func tlsHandshakeDeadlineComesFirst() {
        let handshake = TimeAmount.seconds(5)
        var deadlines = DownstreamDeadlines(idleTimeout: idle, headerTimeout: header, handshakeTimeout: handshake)
        #expect(deadlines.connectionStarted() == .arm(handshake))
        #expect(deadlines.phase == .handshaking)
        #expect(deadlines.timerFired() == .handshakeTooSlow)
        #expect(deadlines.handshakeCompleted() == .arm(header))
        #expect(deadlines.timerFired() == .idle)
        // Only once.
        #expect(deadlines.handshakeCompleted() == DownstreamDeadlines.Action.none)
        #expect(deadlines.bytesArrived() == .arm(header))
        #expect(deadlines.timerFired() == .headTooSlow)
    }

    @Test func disabledHandshakeTimeoutStillWaitsForTheHandshake() {
        var deadlines = DownstreamDeadlines(idleTimeout: idle, headerTimeout: header, handshakeTimeout: .zero)
        #expect(deadlines.connectionStarted() == .disarm)
        #expect(deadlines.handshakeCompleted() == .arm(header))
    }
}
