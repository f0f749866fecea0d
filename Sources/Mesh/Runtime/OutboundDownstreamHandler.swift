import Logging
import MeshProxy
import NIOCore
import NIOHTTP1

/// An app's connection to the outbound listener (HTTP/1.1, keep-alive; NIO's pipelining handler
/// hands over one request at a time), or one HTTP/2 stream of an app's h2c connection (through
/// NIO's HTTP/2-to-HTTP/1 codec; `handlers` is nil there). The request body streams upstream with
/// a copy kept for retries up to the replay limit (`RequestIntake`); the response streams back.
final class OutboundDownstreamHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let driver: SidecarDriver
    private var context: ChannelHandlerContext?
    private let intake: RequestIntake
    /// A request is being answered (counted for the drain on shutdown).
    private var busy = false {
        didSet { if busy != oldValue { driver.requestsInProgress += busy ? 1 : -1 } }
    }
    /// Local answers and streamed responses, keep-alive or close.
    private let responder = DownstreamResponder()
    /// The exchange waiting for the engine's answer.
    var currentExchange: UInt64?
    /// The access-log entry of the response streaming to the app, written when it ends.
    var pendingLog: PendingAccessLog?
    /// Stops the upstream stream feeding the response when the app goes away (HTTP/2 upstreams).
    var onGone: (() -> Void)?

    /// The HTTP/1.1 handlers of the connection (to switch to a CONNECT tunnel); nil on an HTTP/2 stream.
    private let handlers: HTTPServerHandlers?

    /// On a gateway listener: its port and scheme (requests go to the engine's gateway entry).
    let gateway: GatewayRequestOrigin?
    /// A gateway's upstream answer: the head the engine says the client gets (the upstream's,
    /// with the route's response header changes), sent with the upstream's body.
    var responseHead: MeshProxy.HTTPResponseHead?

    init(driver: SidecarDriver, handlers: HTTPServerHandlers?, gateway: GatewayRequestOrigin? = nil) {
        self.driver = driver
        self.handlers = handlers
        self.gateway = gateway
        self.intake = RequestIntake(replayLimit: driver.settings.maxBufferedRequestBody)
        responder.timeouts = handlers?.timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Added after the protocol sniffer saw the first bytes: the connection is already active.
        if context.channel.isActive { readOriginalDestination(context) }
    }

    /// Under capture (iptables or eBPF): where the app's connection was going before the redirect.
    private(set) var originalDestination: MeshProxy.SocketAddress?

    private var originalDestinationAsked = false

    private func readOriginalDestination(_ context: ChannelHandlerContext) {
        guard !originalDestinationAsked else { return }
        originalDestinationAsked = true
        driver.readOriginalDestination(of: context.channel) { [self] in originalDestination = $0 }
    }

    func channelActive(context: ChannelHandlerContext) {
        readOriginalDestination(context)
        context.fireChannelActive()
    }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// The client's address (an HTTP/2 stream's is its connection's).
    var remoteAddress: MeshProxy.SocketAddress {
        let remote = context?.channel.remoteAddress
        return MeshProxy.SocketAddress(ip: remote?.ipAddress ?? "", port: remote?.port ?? 0)
    }

    /// The connection closed. Requests the decoder still delivers after that (pipelined behind one
    /// whose answer closed the connection) cannot be answered: they are dropped, not started (they
    /// would count as in progress for good).
    private var closed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The rest of a refused request is not read (the connection closes after the answer).
        guard !refused && !closed else { return }
        let step: RequestIntake.Step
        switch unwrapInboundIn(data) {
        case .head(let head):
            handlers?.timeouts?.headReceived()
            responder.requestStarted(head)
            if let rejection = RequestHeadCheck.check(head, hostUse: .routes) {
                refused = true
                driver.countRejected(rejection, listener: .outbound, detail: "host")
                answerRefused(rejection)
                return
            }
            intake.receivedHead(head)
            if let expect = head.headers.first(name: "expect"), expect.lowercased() == "100-continue" {
                // The sidecar invites the body itself (the upstream may be an HTTP/1.0 app that
                // never answers 100, or the request may be retried); `expect` is not forwarded.
                context.writeAndFlush(wrapOutboundOut(.head(NIOHTTP1.HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
            }
            return
        case .body(let part):
            step = intake.receivedBody(part, source: context.channel)
        case .end:
            handlers?.timeouts?.requestEnded()
            step = intake.receivedEnd()
        }
        take(step, context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !closed { take(intake.readComplete(source: context.channel), context: context) }
        context.fireChannelReadComplete()
    }

    private func take(_ step: RequestIntake.Step, context: ChannelHandlerContext) {
        switch step {
        case .none:
            break
        case .start(let head, let body):
            busy = true
            driver.outboundRequest(from: self, head: head, body: body)
        case .bodyNotReplayable:
            if let exchange = currentExchange { driver.outboundBodyNotReplayable(exchange) }
        case .tunnel(let head):
            guard let handlers else {
                // Tunnels are HTTP/1.1 CONNECT only (an HTTP/2 CONNECT stream is not a TCP port here).
                respondLocally(MeshProxy.HTTPResponseHead(status: 405))
                return
            }
            // A raw TCP tunnel (tcp / tcp-server-first ports).
            driver.outboundTunnel(authority: head.uri, from: context, handlers: handlers, handler: self)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        busy = false
        intake.connectionClosed()
        responder.resumeSource()
        let gone = onGone
        onGone = nil
        gone?()
        if let exchange = currentExchange {
            currentExchange = nil
            driver.outboundCancelled(exchange)
        }
        // The app went away while its response streamed.
        pendingLog?.entry.flags.insert(.downstreamConnectionTermination)
        driver.writeAccessLog(pendingLog)
        pendingLog = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // After a refused request the connection is closing: nothing more to answer.
        if let parserError = error as? HTTPParserError, !refused {
            // Headers past the decoder's limit get 431; any other malformed request 400.
            let rejection = RequestHeadCheck.rejection(for: parserError)
            driver.countRejected(rejection, listener: .outbound, detail: "\(parserError)")
            // Not on a connection already closed (the decoder reports a request cut short by the
            // close before this handler hears of the close): nobody would read the answer.
            if !responder.responding && currentExchange == nil && context.channel.isActive {
                answerRefused(rejection)
                return
            }
        }
        context.close(promise: nil)
    }

    // MARK: Answers

    /// A request refused before the mesh saw it: answered with why, then the connection closes.
    private var refused = false

    private func answerRefused(_ rejection: RequestHeadCheck.Rejection) {
        responder.closeAfterResponse()
        respondLocally(rejection.localAnswer)
    }

    /// A response the sidecar makes itself; status 0 closes the connection without an answer.
    func respondLocally(_ engineHead: MeshProxy.HTTPResponseHead) {
        currentExchange = nil
        guard let context else { return }
        if intake.answeredEarly() { responder.closeAfterResponse() }
        if responder.respondLocally(driver.localAnswer(engineHead, grpc: responder.answersGRPC), draining: driver.isDraining, context: context) { busy = false }
    }

    /// Without `flush` the caller calls `flushResponse()` when its read is over.
    func startStreamedResponse(_ upstreamHead: NIOHTTP1.HTTPResponseHead, flush: Bool = true) {
        currentExchange = nil
        guard let context else { return }
        var head = upstreamHead
        if let engineHead = responseHead {
            responseHead = nil
            head.status = HTTPResponseStatus(statusCode: engineHead.status)
            head.headers = HTTPHeaders(engineHead.headers.map { ($0.name, $0.value) })
        }
        responder.startStream(head, draining: driver.isDraining, flush: flush, context: context)
    }

    func streamBody(_ part: ByteBuffer, from source: any Channel, flush: Bool = true) {
        pendingLog?.entry.bytesSent += part.readableBytes
        guard let context else { return }
        responder.streamBody(part, from: source, flush: flush, context: context)
    }

    func flushResponse() { context?.flush() }

    func finishStreamedResponse(trailers: HTTPHeaders?) {
        // The upstream answered before the request body ended and dropped the rest.
        if intake.answeredEarly() { responder.closeAfterResponse() }
        if responder.finishStream(trailers: trailers, context: context) { busy = false }
        driver.writeAccessLog(pendingLog)
        pendingLog = nil
    }

    func abortStreamedResponse() {
        // The upstream connection ended mid-response.
        pendingLog?.entry.flags.insert(.upstreamConnectionTermination)
        driver.writeAccessLog(pendingLog)
        pendingLog = nil
        responder.abortStream(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { responder.resumeSource() }
        context.fireChannelWritabilityChanged()
    }
}
