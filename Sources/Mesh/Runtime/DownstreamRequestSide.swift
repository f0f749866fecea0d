import MeshProxy
import NIOCore
import NIOHTTP1

/// What a downstream connection's request side needs from its sidecar: the narrow seam between
/// the listeners' handlers and the driver. `SidecarDriver` is it in production; a test gives its
/// own to see what the request side asks for.
protocol DownstreamRequestDriver: AnyObject {
    /// How much of a request body is kept for a retry (`SidecarSettings.maxBufferedRequestBody`).
    var replayLimit: Int { get }
    /// Shutting down: answers carry `connection: close`.
    var isDraining: Bool { get }
    /// A request started through the mesh / its answer ended (the drain waits for the count).
    func requestStarted()
    func requestEnded()
    /// Under capture, where the connection was going before the redirect (nothing in local mode).
    func readOriginalDestination(of channel: any Channel, _ found: @escaping (MeshProxy.SocketAddress?) -> Void)
    /// A request refused before the mesh saw it (counted and logged).
    func countRejected(_ rejection: RequestHeadCheck.Rejection, listener: ListenerKind, detail: String)
    /// A local answer as the client gets it (a gRPC status for a gRPC request).
    func localAnswer(_ head: MeshProxy.HTTPResponseHead, grpc: Bool) -> MeshProxy.HTTPResponseHead
}

extension SidecarDriver: DownstreamRequestDriver {
    var replayLimit: Int { settings.maxBufferedRequestBody }
    func requestStarted() { requestsInProgress += 1 }
    func requestEnded() { requestsInProgress -= 1 }
}

/// The request side of a downstream connection or HTTP/2 stream, one type for both listeners'
/// handlers (`OutboundDownstreamHandler`, `InboundDownstreamHandler`): the request head's checks
/// (`RequestHeadCheck`, a refused request answered and the connection closed), the deadlines
/// (`DownstreamTimeoutHandler`) told of each head and end, the intake deciding when a request
/// starts (`RequestIntake`), the answers (`DownstreamResponder`), malformed requests (400/431),
/// the request-in-progress count for the drain, and the capture's original destination. The
/// handler keeps what differs: where a started request goes. Confined to its channel's loop.
final class DownstreamRequestSide {
    private let driver: any DownstreamRequestDriver
    let listener: ListenerKind
    private let hostUse: RequestHeadCheck.HostUse
    let intake: RequestIntake
    /// Local answers and streamed responses, keep-alive or close.
    let responder = DownstreamResponder()
    /// The HTTP/1.1 handlers of the connection (to switch to a CONNECT tunnel); nil on an HTTP/2 stream.
    let handlers: HTTPServerHandlers?
    private(set) var context: ChannelHandlerContext?
    /// A request is being answered (counted for the drain on shutdown).
    private(set) var busy = false {
        didSet {
            guard busy != oldValue else { return }
            if busy { driver.requestStarted() } else { driver.requestEnded() }
        }
    }
    /// The connection closed. Requests the decoder still delivers after that (pipelined behind one
    /// whose answer closed the connection) cannot be answered: they are dropped, not started (they
    /// would count as in progress for good).
    private(set) var closed = false
    /// A request was refused before the mesh saw it; the rest of it is not read.
    private(set) var refused = false
    /// Under capture (iptables or eBPF): where the connection was going before the redirect.
    private(set) var originalDestination: MeshProxy.SocketAddress?
    private var originalDestinationAsked = false

    init(driver: any DownstreamRequestDriver, listener: ListenerKind, handlers: HTTPServerHandlers?) {
        self.driver = driver
        self.listener = listener
        self.hostUse = listener == .outbound ? .routes : .informs
        self.handlers = handlers
        self.intake = RequestIntake(replayLimit: driver.replayLimit)
        responder.timeouts = handlers?.timeouts
        responder.encoder = handlers?.pipelining
    }

    // MARK: Channel events (the handler forwards them)

    func added(_ context: ChannelHandlerContext) {
        self.context = context
        // Added after the protocol sniffer saw the first bytes: the connection is already active.
        if context.channel.isActive { readOriginalDestination(context) }
    }

    func active(_ context: ChannelHandlerContext) { readOriginalDestination(context) }

    func removed() { context = nil }

    private func readOriginalDestination(_ context: ChannelHandlerContext) {
        guard !originalDestinationAsked else { return }
        originalDestinationAsked = true
        driver.readOriginalDestination(of: context.channel) { [self] in originalDestination = $0 }
    }

    /// A part of the request: what to do with it (`.none` for a head, which waits for its body,
    /// or a refused one, answered here). `headArrived` sees a head that passed the checks.
    func read(_ part: HTTPServerRequestPart, context: ChannelHandlerContext,
              headArrived: (NIOHTTP1.HTTPRequestHead) -> Void = { _ in }) -> RequestIntake.Step {
        guard !refused && !closed else { return .none }
        switch part {
        case .head(let head):
            handlers?.timeouts?.headReceived()
            responder.requestStarted(head)
            if let rejection = RequestHeadCheck.check(head, hostUse: hostUse) {
                refused = true
                driver.countRejected(rejection, listener: listener, detail: "host")
                answerRefused(rejection)
                return .none
            }
            intake.receivedHead(head)
            headArrived(head)
            return .none
        case .body(let part):
            return intake.receivedBody(part, source: context.channel)
        case .end:
            handlers?.timeouts?.requestEnded()
            return intake.receivedEnd()
        }
    }

    /// The read batch ended: a request whose body is still coming may start.
    func readComplete(context: ChannelHandlerContext) -> RequestIntake.Step {
        closed ? .none : intake.readComplete(source: context.channel)
    }

    /// A request starts through the mesh.
    func started() { busy = true }

    /// The connection went: the body still coming is dropped, the source reads again.
    func connectionClosed() {
        closed = true
        busy = false
        intake.connectionClosed()
        responder.resumeSource()
    }

    /// An error on the connection. A malformed request gets 400 (431 for headers past the
    /// decoder's limit) unless an answer is already under way (`answering`); anything else closes.
    func error(_ error: any Error, context: ChannelHandlerContext, answering: Bool) {
        // After a refused request the connection is closing: nothing more to answer.
        if let parserError = error as? HTTPParserError, !refused {
            let rejection = RequestHeadCheck.rejection(for: parserError)
            driver.countRejected(rejection, listener: listener, detail: "\(parserError)")
            // Not on a connection already closed (the decoder reports a request cut short by the
            // close before this handler hears of the close): nobody would read the answer.
            if !responder.responding && !answering && context.channel.isActive {
                answerRefused(rejection)
                return
            }
        }
        context.close(promise: nil)
    }

    func writabilityChanged(_ context: ChannelHandlerContext) {
        if context.channel.isWritable { responder.resumeSource() }
    }

    // MARK: Answers

    /// A request refused before the mesh saw it: answered with why, then the connection closes.
    private func answerRefused(_ rejection: RequestHeadCheck.Rejection) {
        responder.closeAfterResponse()
        respondLocally(rejection.localAnswer)
    }

    /// A response the sidecar makes itself; status 0 closes the connection without an answer.
    func respondLocally(_ engineHead: MeshProxy.HTTPResponseHead) {
        guard let context else { return }
        if intake.answeredEarly() { responder.closeAfterResponse() }
        if responder.respondLocally(driver.localAnswer(engineHead, grpc: responder.answersGRPC), draining: driver.isDraining, context: context) { busy = false }
    }

    /// Without `flush` the caller flushes when its read is over.
    func startStream(_ upstreamHead: NIOHTTP1.HTTPResponseHead, flush: Bool = true) {
        guard let context else { return }
        responder.startStream(upstreamHead, draining: driver.isDraining, flush: flush, context: context)
    }

    func streamBody(_ part: ByteBuffer, from source: any Channel, flush: Bool = true) {
        guard let context else { return }
        responder.streamBody(part, from: source, flush: flush, context: context)
    }

    func finishStream(trailers: HTTPHeaders?) {
        // The upstream answered before the request body ended and dropped the rest.
        if intake.answeredEarly() { responder.closeAfterResponse() }
        if responder.finishStream(trailers: trailers, context: context) { busy = false }
    }

    /// The upstream failed mid-response: the downstream sees the connection close.
    func abortStream() { responder.abortStream(context: context) }

    func flush() { context?.flush() }
}
