@testable import MeshRuntime
import NIOCore
import Testing

/// The inbound side's connection to the local app, transition by transition.
@Suite struct AppConnectionStateTests {
    typealias State = AppConnectionState<String, String>
    static let start = NIODeadline.uptimeNanoseconds(1_000)

    /// An open connection with request "a" for port 8080 written on it.
    static func open() -> State {
        var state = State()
        _ = state.send("a", port: 8080, at: start)
        _ = state.connected()
        return state
    }

    @Test func theFirstRequestConnectsAndIsWrittenOnceOpen() {
        var state = State()
        guard case .connect = state.send("GET /", port: 8080, at: Self.start) else { Issue.record("no connect"); return }
        guard case .write(let request) = state.connected() else { Issue.record("nothing written"); return }
        #expect(request == "GET /")
        #expect(state.connection == .open)
    }

    @Test func aRequestSentWhileConnectingWaitsForTheConnection() {
        var state = State()
        _ = state.send("first", port: 8080, at: Self.start)
        guard case .wait = state.send("second", port: 8080, at: Self.start) else { Issue.record("connected twice"); return }
        guard case .write(let request) = state.connected() else { Issue.record("nothing written"); return }
        #expect(request == "second", "one request at a time: the latest is the one in flight")
    }

    @Test func anOpenConnectionWritesAtOnce() {
        var state = Self.open()
        _ = state.responseHead(status: 200)
        _ = state.responseEnded()
        guard case .write("b") = state.send("b", port: 8080, at: Self.start) else { Issue.record("not written"); return }
    }

    @Test func aFailedConnectAnswersTheRequestsPortAsUnreachable() {
        var state = State()
        _ = state.send("a", port: 9090, at: Self.start)
        let result1 = state.connectFailed()
        #expect(result1 == 9090)
        #expect(state.isClosed && state.inFlight == nil)
    }

    @Test func aLinkClosedWhileConnectingClosesTheLateChannelAndAnswersNothing() {
        var state = State()
        _ = state.send("a", port: 8080, at: Self.start)
        _ = state.close()
        guard case .close = state.connected() else { Issue.record("kept a channel of a closed link"); return }
        let result2 = state.connectFailed()
        #expect(result2 == nil)
    }

    @Test func theResponseHeadNamesThePortAndWhenTheRequestWentOut() {
        var state = Self.open()
        let result3 = state.responseHead(status: 100)
        #expect(result3 == .ignore)
        let result4 = state.responseHead(status: 204)
        #expect(result4 == .respond(port: 8080, sentAt: Self.start))
        let result5 = state.responseEnded()
        #expect(result5 == nil)
        let result6 = state.responseHead(status: 200)
        #expect(result6 == .ignore, "no request in flight")
    }

    @Test func anAnswerBeforeTheBodyEndedReleasesTheBody() {
        var state = State()
        _ = state.send("upload", port: 8080, at: Self.start)
        _ = state.connected()
        state.bodyStarted("body")
        _ = state.responseHead(status: 413)
        let result7 = state.responseEnded()
        #expect(result7 == "body")
        #expect(state.body == nil)
    }

    @Test func aCloseMidFlightResetsBeforeTheHeadAndAbortsAfterIt() {
        var before = Self.open()
        before.bodyStarted("body")
        let reset = before.channelClosed()
        #expect(reset.action == .reset && reset.release == "body")

        var after = Self.open()
        _ = after.responseHead(status: 200)
        let result8 = after.channelClosed()
        #expect(result8.action == .abortResponse)
    }

    @Test func anIdleCloseIsNothingToThePeer() {
        var state = Self.open()
        _ = state.responseHead(status: 200)
        _ = state.responseEnded()
        let result9 = state.channelClosed()
        #expect(result9.action == .none)
        #expect(state.isClosed)
    }

    @Test func anAbandonedBodyClosesTheConnection() {
        var state = Self.open()
        state.bodyStarted("body")
        state.bodyFinished(abandoned: true)
        #expect(state.isClosed && state.body == nil)
    }

    /// A config change that moves the app (another endpoint): the inbound handler closes the link
    /// between requests and the next request opens a new connection.
    @Test func aLinkClosedBetweenRequestsReleasesNothingAndTheNextRequestConnectsAgain() {
        var state = Self.open()
        _ = state.responseHead(status: 200)
        _ = state.responseEnded()
        let released = state.close()
        #expect(released == nil && state.isClosed)
        guard case .connect = state.send("b", port: 8080, at: Self.start) else { Issue.record("reused a closed connection"); return }
    }
}
