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
    /// Head checks, intake, answers and deadlines, shared with the inbound listener.
    private let side: DownstreamRequestSide
    /// The exchange waiting for the engine's answer.
    var currentExchange: UInt64?
    /// The access-log entry of the response streaming to the app, written when it ends.
    var pendingLog: PendingAccessLog?
    /// Stops the upstream stream feeding the response when the app goes away (HTTP/2 upstreams).
    var onGone: (() -> Void)?

    /// On a gateway listener: its port and scheme (requests go to the engine's gateway entry).
    let gateway: GatewayRequestOrigin?
    /// A gateway's upstream answer: the head the engine says the client gets (the upstream's,
    /// with the route's response header changes), sent with the upstream's body.
    var responseHead: MeshProxy.HTTPResponseHead?

    init(driver: SidecarDriver, handlers: HTTPServerHandlers?, gateway: GatewayRequestOrigin? = nil) {
        self.driver = driver
        self.gateway = gateway
        self.side = DownstreamRequestSide(driver: driver, listener: .outbound, handlers: handlers)
    }

    /// Under capture (iptables or eBPF): where the app's connection was going before the redirect.
    var originalDestination: MeshProxy.SocketAddress? { side.originalDestination }

    func handlerAdded(context: ChannelHandlerContext) { side.added(context) }

    func channelActive(context: ChannelHandlerContext) {
        side.active(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { side.removed() }

    /// The client's address (an HTTP/2 stream's is its connection's).
    var remoteAddress: MeshProxy.SocketAddress {
        let remote = side.context?.channel.remoteAddress
        return MeshProxy.SocketAddress(ip: remote?.ipAddress ?? "", port: remote?.port ?? 0)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let step = side.read(unwrapInboundIn(data), context: context) { head in
            if let expect = head.headers.first(name: "expect"), expect.lowercased() == "100-continue" {
                // The sidecar invites the body itself (the upstream may be an HTTP/1.0 app that
                // never answers 100, or the request may be retried); `expect` is not forwarded.
                context.writeAndFlush(wrapOutboundOut(.head(NIOHTTP1.HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
            }
        }
        take(step, context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        take(side.readComplete(context: context), context: context)
        context.fireChannelReadComplete()
    }

    private func take(_ step: RequestIntake.Step, context: ChannelHandlerContext) {
        switch step {
        case .none:
            break
        case .start(let head, let body):
            side.started()
            driver.outboundRequest(from: self, head: head, body: body)
        case .bodyNotReplayable:
            if let exchange = currentExchange { driver.outboundBodyNotReplayable(exchange) }
        case .tunnel(let head):
            guard let handlers = side.handlers else {
                // Tunnels are HTTP/1.1 CONNECT only (an HTTP/2 CONNECT stream is not a TCP port here).
                respondLocally(MeshProxy.HTTPResponseHead(status: 405))
                return
            }
            // A raw TCP tunnel (tcp / tcp-server-first ports, egress: TLS by its server name).
            driver.outboundTunnel(authority: head.uri, requestID: head.headers.first(name: "x-request-id"), from: context, handlers: handlers, handler: self)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        side.connectionClosed()
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
        side.error(error, context: context, answering: currentExchange != nil)
    }

    // MARK: Answers

    /// A response the sidecar makes itself; status 0 closes the connection without an answer.
    func respondLocally(_ engineHead: MeshProxy.HTTPResponseHead) {
        currentExchange = nil
        side.respondLocally(engineHead)
    }

    /// Without `flush` the caller calls `flushResponse()` when its read is over.
    func startStreamedResponse(_ upstreamHead: NIOHTTP1.HTTPResponseHead, flush: Bool = true) {
        currentExchange = nil
        var head = upstreamHead
        if let engineHead = responseHead {
            responseHead = nil
            head.status = HTTPResponseStatus(statusCode: engineHead.status)
            head.headers = HTTPHeaders(engineHead.headers.map { ($0.name, $0.value) })
        }
        side.startStream(head, flush: flush)
    }

    func streamBody(_ part: ByteBuffer, from source: any Channel, flush: Bool = true) {
        pendingLog?.entry.bytesSent += part.readableBytes
        side.streamBody(part, from: source, flush: flush)
    }

    func flushResponse() { side.flush() }

    func finishStreamedResponse(trailers: HTTPHeaders?) {
        // Taken first: ending an HTTP/2 stream's response closes the stream at once, and its
        // `channelInactive` must not see a response still in flight (no `DC` for a complete answer).
        let log = pendingLog
        pendingLog = nil
        side.finishStream(trailers: trailers)
        driver.writeAccessLog(log)
    }

    func abortStreamedResponse() {
        // The upstream connection ended mid-response.
        pendingLog?.entry.flags.insert(.upstreamConnectionTermination)
        driver.writeAccessLog(pendingLog)
        pendingLog = nil
        side.abortStream()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        side.writabilityChanged(context)
        context.fireChannelWritabilityChanged()
    }
}
