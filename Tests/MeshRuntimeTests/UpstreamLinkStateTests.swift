@testable import MeshRuntime
import Testing

/// The upstream HTTP/1.1 connection's queue and response state, transition by transition: what
/// `UpstreamLink` is told to write, deliver, finish and close.
@Suite struct UpstreamLinkStateTests {
    typealias State = UpstreamLinkState<String, String>

    /// A connection that opened, with `requests` sent on it (exchange n, attempt 1), written
    /// without bodies.
    static func open(sending requests: [UInt64] = []) -> State {
        var state = State()
        let result1 = state.connected()
        #expect(result1)
        for exchange in requests {
            _ = state.send(exchange: exchange, attempt: 1, request: "r\(exchange)")
            if state.nextWrite()?.exchange == exchange { state.headWritten(hasBody: false) }
        }
        return state
    }

    @Test func requestsSentWhileConnectingWaitAndAreWrittenInOrderOnceOpen() {
        var state = State()
        let result2 = state.send(exchange: 1, attempt: 1, request: "a")
        #expect(result2)
        let result3 = state.send(exchange: 2, attempt: 1, request: "b")
        #expect(!result3)
        #expect(state.nextWrite() == nil, "nothing is written before the connection is up")
        let result4 = state.connected()
        #expect(result4)
        #expect(state.nextWrite()?.request == "a")
        state.headWritten(hasBody: false)
        #expect(state.nextWrite()?.request == "b")
        state.headWritten(hasBody: false)
        #expect(state.nextWrite() == nil)
        #expect(state.awaitedResponses == 2)
    }

    @Test func aConnectThatFailsIsLostAsAConnectFailureOnce() {
        var state = State()
        _ = state.send(exchange: 1, attempt: 1, request: "a")
        let lost = state.connectFailed()
        #expect(lost?.connectFailed == true)
        #expect(state.connection == .gone && state.queuedRequests == 0 && state.awaitedResponses == 0)
        let result5 = state.connectFailed()
        #expect(result5 == nil, "reported once")
    }

    @Test func aConnectionAbandonedWhileOpeningClosesTheLateChannelAndReportsNothing() {
        var state = State()
        _ = state.send(exchange: 1, attempt: 1, request: "a")
        let result6 = state.closeWhenDone()
        #expect(result6 == .abandonOpening)
        #expect(state.queuedRequests == 0)
        let result7 = state.connected()
        #expect(!result7, "the channel that connects after all is closed")
        let result8 = state.connectFailed()
        #expect(result8 == nil)
    }

    @Test func aBodyStreamingHoldsThePipelinedRequestsBehindIt() {
        var state = Self.open()
        _ = state.send(exchange: 1, attempt: 1, request: "upload")
        state.headWritten(hasBody: true)
        #expect(state.streamingBody == "upload")
        _ = state.send(exchange: 2, attempt: 1, request: "next")
        #expect(state.nextWrite() == nil, "behind the body still coming")
        let result9 = state.bodyEnded()
        #expect(result9)
        #expect(state.nextWrite()?.request == "next")
        let result10 = state.bodyEnded()
        #expect(!result10, "no body streams now")
    }

    @Test func pipelinedResponsesAreDeliveredInRequestOrder() {
        var state = Self.open(sending: [1, 2, 3])
        let result11 = state.responseHead(status: 100)
        #expect(result11 == .ignore)
        for exchange: UInt64 in [1, 2, 3] {
            let result12 = state.responseHead(status: 200)
            #expect(result12 == .deliver(exchange: exchange, attempt: 1))
            #expect(state.isDelivering(exchange: exchange))
            state.headReported()
            #expect(state.forwardingTo == nil, "not chosen: drained")
            let result13 = state.responseEnded()
            #expect(result13.finished == nil)
        }
        let result14 = state.responseHead(status: 200)
        #expect(result14 == .outOfStep)
    }

    @Test func aChosenResponseStreamsToItsDownstreamUntilItsEnd() {
        var state = Self.open(sending: [7])
        let result15 = state.responseHead(status: 200)
        #expect(result15 == .deliver(exchange: 7, attempt: 1))
        let result16 = state.forward(to: "app")
        #expect(result16)
        #expect(!state.isDelivering(exchange: 7))
        state.headReported()
        #expect(state.forwardingTo == "app")
        let end = state.responseEnded()
        #expect(end.finished == "app" && !end.close && end.abandonedBody == nil)
        #expect(state.forwardingTo == nil)
    }

    @Test func anAnswerBeforeTheBodyEndedAbandonsTheBody() {
        var state = Self.open()
        _ = state.send(exchange: 1, attempt: 1, request: "upload")
        state.headWritten(hasBody: true)
        let result17 = state.responseHead(status: 413)
        #expect(result17 == .deliver(exchange: 1, attempt: 1))
        state.headReported()
        let result18 = state.responseEnded()
        #expect(result18.abandonedBody == "upload")
    }

    @Test func closeWhenDoneClosesAnIdleConnectionAtOnceAndABusyOneAfterItsResponse() {
        var idle = Self.open(sending: [1])
        _ = idle.responseHead(status: 200)
        _ = idle.responseEnded()
        let result19 = idle.closeWhenDone()
        #expect(result19 == .closeNow)

        var busy = Self.open(sending: [1])
        _ = busy.responseHead(status: 200)
        let result20 = busy.closeWhenDone()
        #expect(result20 == .closeAfterResponse)
        let result21 = busy.responseEnded()
        #expect(result21.close)
    }

    @Test func aCloseMidFlightAbortsTheForwardedResponseAndCountsAReset() {
        var state = Self.open(sending: [1, 2])
        _ = state.responseHead(status: 200)
        _ = state.forward(to: "app")
        let closed = state.channelClosed(handshakeFailed: false)
        #expect(closed.abort == "app")
        #expect(closed.countReset, "exchange 2 still awaited its answer")
        #expect(closed.lost?.connectFailed == false)
        let result22 = state.channelClosed(handshakeFailed: false)
        #expect(result22.lost == nil, "lost once")
    }

    @Test func anIdleCloseIsNoResetAndAFailedHandshakeIsAConnectFailure() {
        var idle = Self.open()
        let closed = idle.channelClosed(handshakeFailed: false)
        #expect(!closed.countReset && closed.abort == nil && closed.lost != nil)

        var handshake = Self.open(sending: [1])
        let failed = handshake.channelClosed(handshakeFailed: true)
        #expect(!failed.countReset)
        #expect(failed.lost?.connectFailed == true)
    }

    @Test func anErrorLosesTheConnectionAtOnceAndDetachesTheStreamingBody() {
        var state = Self.open()
        _ = state.send(exchange: 1, attempt: 1, request: "upload")
        state.headWritten(hasBody: true)
        let lost = state.failed()
        #expect(lost?.bodyInProgress == "upload")
        #expect(state.connection == .gone && state.streamingBody == nil)
        #expect(state.nextWrite() == nil)
        // The inactive channel that follows reports nothing more.
        let result23 = state.channelClosed(handshakeFailed: false)
        #expect(result23.lost == nil)
    }

    /// A config change that lowers the cluster's connection limits: the engine closes the
    /// connections above the limit when done; their answers in progress still end.
    @Test func aDrainOnConfigChangeLetsTheResponsesInFlightEnd() {
        var state = Self.open(sending: [1, 2])
        _ = state.responseHead(status: 200)
        let result24 = state.closeWhenDone()
        #expect(result24 == .closeAfterResponse)
        let result25 = state.responseEnded()
        #expect(!result25.close, "exchange 2 is still awaited")
        _ = state.responseHead(status: 200)
        let result26 = state.responseEnded()
        #expect(result26.close)
    }
}
