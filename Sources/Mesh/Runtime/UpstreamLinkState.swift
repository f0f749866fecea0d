/// One upstream HTTP/1.1 connection of the engine's pool (`UpstreamLink`) as a value-typed state
/// machine: the connection opening, open or gone; the requests queued to be written (the first on
/// the wire, its body perhaps still streaming, the others pipelined behind it); the attempts whose
/// response head has not come, in order; and the response being read (waiting for the engine's
/// choice, forwarded to the app, or drained). It takes the link's events and says what to do;
/// `UpstreamLink` does the writes and closes (as async-http-client's
/// `HTTP1ConnectionStateMachine` does for its channel handler). `Request` is what the link writes
/// (head and body), `Downstream` where a chosen response streams.
struct UpstreamLinkState<Request, Downstream> {
    enum Connection: Equatable {
        case opening
        case open
        /// Closed, failed or abandoned: the engine was told (or is being told) it is lost.
        case gone
    }

    enum Response {
        /// Its head is being reported to the engine.
        case waitingForHead
        case forwarding(Downstream)
        /// Not the engine's answer (an attempt that will be retried): read and dropped.
        case draining
    }

    /// What a response head means.
    enum HeadAction: Equatable {
        /// 1xx: the final head follows.
        case ignore
        /// Nobody asked for it: the connection is out of step and closes.
        case outOfStep
        /// Report it to the engine as the answer of this attempt.
        case deliver(exchange: UInt64, attempt: Int)
    }

    /// What the end of a response means.
    struct EndAction {
        /// The response ended here: finish it.
        var finished: Downstream?
        /// The request was answered before its body was all sent: stop taking its body; the
        /// connection cannot carry the rest and goes.
        var abandonedBody: Request?
        /// The engine asked the connection closed and nothing else is awaited: close now.
        var close = false
    }

    enum CloseAction: Equatable {
        /// Still opening: abandon the connect (and what waits for it).
        case abandonOpening
        case closeNow
        /// A response is being read: close when it ends.
        case closeAfterResponse
        case none
    }

    /// The connection went (or could not be made): tell the engine.
    struct Lost {
        /// The request whose body was streaming, to detach.
        var bodyInProgress: Request?
        var connectFailed: Bool
    }

    /// The channel closed.
    struct Closed {
        /// The app's response was cut short: abort it.
        var abort: Downstream?
        /// Answers were still due and nobody asked the close: an upstream reset.
        var countReset: Bool
        /// Nil when already gone.
        var lost: Lost?
    }

    private(set) var connection: Connection = .opening
    /// Requests not completely written yet, oldest first.
    private var outgoing: [(exchange: UInt64, request: Request)] = []
    /// The first of `outgoing` has its head written and its body attached.
    private(set) var writingFirst = false
    /// Attempts whose response head has not arrived, oldest first.
    private var awaiting: [(exchange: UInt64, attempt: Int)] = []
    private(set) var current: (exchange: UInt64, response: Response)?
    private(set) var closeRequested = false

    /// The request whose body is streaming (the first of the queue, on the wire).
    var streamingBody: Request? { writingFirst ? outgoing.first?.request : nil }
    var queuedRequests: Int { outgoing.count }
    var awaitedResponses: Int { awaiting.count }

    // MARK: Connecting

    /// The connect succeeded; false: abandoned meanwhile, close the channel.
    mutating func connected() -> Bool {
        guard connection == .opening else { return false }
        connection = .open
        return true
    }

    /// The connect failed; nil when the connection was abandoned already (accounted for).
    mutating func connectFailed() -> Lost? {
        lose(connectFailed: true)
    }

    // MARK: Writing

    /// The engine sends an attempt on this connection; true: the queue was empty, write it now.
    mutating func send(exchange: UInt64, attempt: Int, request: Request) -> Bool {
        awaiting.append((exchange, attempt))
        outgoing.append((exchange, request))
        return outgoing.count == 1
    }

    /// The request to write next: the first queued one while the connection is open and no body
    /// is streaming ahead of it.
    func nextWrite() -> (exchange: UInt64, request: Request)? {
        guard connection == .open, !writingFirst else { return nil }
        return outgoing.first
    }

    /// The head of `nextWrite()` is written; without a body the request is complete, with one
    /// its body streams now.
    mutating func headWritten(hasBody: Bool) {
        guard !outgoing.isEmpty else { return }
        if hasBody {
            writingFirst = true
        } else {
            outgoing.removeFirst()
        }
    }

    /// The streaming body ended; true: write the request's end and go on with the queue.
    mutating func bodyEnded() -> Bool {
        guard writingFirst, connection == .open else { return false }
        writingFirst = false
        outgoing.removeFirst()
        return true
    }

    /// The streaming body was cut short; true: the connection cannot carry the request, close it.
    mutating func bodyAbandoned() -> Bool {
        guard writingFirst else { return false }
        writingFirst = false
        outgoing.removeFirst()
        return true
    }

    // MARK: Reading

    mutating func responseHead(status: Int) -> HeadAction {
        guard status >= 200 else { return .ignore }
        guard !awaiting.isEmpty else { return .outOfStep }
        let (exchange, attempt) = awaiting.removeFirst()
        current = (exchange, .waitingForHead)
        return .deliver(exchange: exchange, attempt: attempt)
    }

    /// The head being reported belongs to `exchange`.
    func isDelivering(exchange: UInt64) -> Bool {
        if let current, current.exchange == exchange, case .waitingForHead = current.response { return true }
        return false
    }

    /// The engine chose the response being reported: it streams to `downstream`.
    mutating func forward(to downstream: Downstream) -> Bool {
        guard let current, case .waitingForHead = current.response else { return false }
        self.current = (current.exchange, .forwarding(downstream))
        return true
    }

    /// The engine has seen the head; one it did not choose is drained.
    mutating func headReported() {
        if let current, case .waitingForHead = current.response { self.current = (current.exchange, .draining) }
    }

    /// Where the body of the response being read goes (nil: drained).
    var forwardingTo: Downstream? {
        if let current, case .forwarding(let downstream) = current.response { return downstream }
        return nil
    }

    mutating func responseEnded() -> EndAction {
        var action = EndAction(finished: forwardingTo)
        let exchange = current?.exchange
        current = nil
        if writingFirst, let first = outgoing.first, first.exchange == exchange {
            action.abandonedBody = first.request
            return action
        }
        action.close = closeRequested && awaiting.isEmpty
        return action
    }

    // MARK: Closing

    /// The engine closes this connection: at once when idle, after the response being read.
    mutating func closeWhenDone() -> CloseAction {
        closeRequested = true
        switch connection {
        case .opening:
            connection = .gone
            awaiting.removeAll()
            outgoing.removeAll()
            return .abandonOpening
        case .open:
            return current == nil ? .closeNow : .closeAfterResponse
        case .gone:
            return .none
        }
    }

    /// The channel became inactive.
    mutating func channelClosed(handshakeFailed: Bool) -> Closed {
        let abort = forwardingTo
        current = nil
        let reset = connection != .gone && !closeRequested && !awaiting.isEmpty && !handshakeFailed
        return Closed(abort: abort, countReset: reset, lost: lose(connectFailed: handshakeFailed))
    }

    /// An error on the channel: gone for the engine at once (a TLS shutdown may take a while).
    mutating func failed() -> Lost? {
        lose(connectFailed: false)
    }

    private mutating func lose(connectFailed: Bool) -> Lost? {
        guard connection != .gone else { return nil }
        connection = .gone
        awaiting.removeAll()
        let first = writingFirst ? outgoing.first?.request : nil
        writingFirst = false
        outgoing.removeAll()
        return Lost(bodyInProgress: first, connectFailed: connectFailed)
    }
}
