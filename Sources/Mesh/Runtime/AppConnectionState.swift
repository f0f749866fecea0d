import NIOCore

/// The inbound side's connection to the local app (`AppLink`: one request at a time) as a
/// value-typed state machine: not opened, connecting (a request waits unsent), open, closed; the
/// request in flight (its port, when it was sent, whether its response head came) and the body
/// streaming to the app. It takes the link's events and says what to do; `AppLink` does the I/O.
/// `Request` is what the link writes (head and body), `Body` the streaming request body.
struct AppConnectionState<Request, Body> {
    enum Connection: Equatable {
        case notOpened
        case connecting
        case open
        case closed
    }

    struct InFlight {
        var port: Int
        var sentAt: NIODeadline
        var gotHead = false
    }

    enum SendAction {
        /// The connection is open: write the request now.
        case write(Request)
        /// Open a connection; the request waits for it.
        case connect
        /// A connect is under way; the request waits for it.
        case wait
    }

    enum ConnectedAction {
        case write(Request)
        /// Open, with nothing to write.
        case none
        /// The link closed while connecting: close the new channel.
        case close
    }

    enum HeadAction: Equatable {
        /// 1xx, or no request in flight.
        case ignore
        /// The app answered the request sent on `port` at `sentAt`: start the response.
        case respond(port: Int, sentAt: NIODeadline)
    }

    enum ClosedAction: Equatable {
        case none
        /// The app went mid-response: the peer's response is cut short.
        case abortResponse
        /// The app went before answering: the peer sees a reset.
        case reset
    }

    private(set) var connection: Connection = .notOpened
    private var unsent: Request?
    private(set) var inFlight: InFlight?
    /// The request body streaming to the app (nil once complete, or when there is none).
    private(set) var body: Body?

    var isClosed: Bool { connection == .closed }

    mutating func send(_ request: Request, port: Int, at now: NIODeadline) -> SendAction {
        inFlight = InFlight(port: port, sentAt: now)
        switch connection {
        case .open:
            return .write(request)
        case .connecting:
            unsent = request
            return .wait
        case .notOpened, .closed:
            unsent = request
            connection = .connecting
            return .connect
        }
    }

    mutating func connected() -> ConnectedAction {
        guard connection == .connecting else { return .close }
        connection = .open
        guard let request = unsent else { return .none }
        unsent = nil
        return .write(request)
    }

    /// The connect failed: the port of the request to answer as unreachable, nil when the link
    /// was closed meanwhile (nobody waits for the answer).
    mutating func connectFailed() -> Int? {
        guard connection == .connecting else { return nil }
        connection = .closed
        unsent = nil
        let port = inFlight?.port ?? 0
        inFlight = nil
        return port
    }

    /// The request's head is written and its body attached.
    mutating func bodyStarted(_ body: Body) { self.body = body }

    /// The body ended (or was abandoned) on the app's connection; `abandoned` closes it.
    mutating func bodyFinished(abandoned: Bool) {
        body = nil
        if abandoned { connection = .closed }
    }

    mutating func responseHead(status: Int) -> HeadAction {
        guard status >= 200, let request = inFlight else { return .ignore }
        inFlight?.gotHead = true
        return .respond(port: request.port, sentAt: request.sentAt)
    }

    /// The response ended: the body still streaming, if any, to release (answered before the
    /// request ended, the rest cannot follow on this connection).
    mutating func responseEnded() -> Body? {
        inFlight = nil
        return releaseBody()
    }

    /// The owner closes the link: the body to release.
    mutating func close() -> Body? {
        connection = .closed
        unsent = nil
        return releaseBody()
    }

    /// The channel went inactive: the body to release and what the peer sees.
    mutating func channelClosed() -> (release: Body?, action: ClosedAction) {
        connection = .closed
        let release = releaseBody()
        guard let request = inFlight else { return (release, .none) }
        inFlight = nil
        return (release, request.gotHead ? .abortResponse : .reset)
    }

    private mutating func releaseBody() -> Body? {
        defer { body = nil }
        return body
    }
}
