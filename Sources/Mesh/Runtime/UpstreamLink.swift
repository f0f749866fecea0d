import Logging
import MeshProxy
import NIOCore
import NIOHTTP1
import NIOPosix

/// One upstream HTTP/1.1 connection of the engine's pool (to a peer sidecar's inbound listener).
/// Responses come back in request order; a response the engine took as final streams to the
/// app's connection part by part, the others (attempts that will be retried) are drained.
/// The engine may reuse the connection as soon as a response head arrived; the next request is
/// then pipelined behind the body still streaming.
final class UpstreamLink: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    enum ResponseState {
        case waitingForHead
        case forwarding(OutboundDownstreamHandler)
        case draining
    }

    let id: UInt64
    private let driver: SidecarDriver
    private var channel: (any Channel)?
    private var unsent: [(NIOHTTP1.HTTPRequestHead, ByteBuffer?)] = []
    /// Attempts whose response head has not arrived, oldest first.
    private var awaiting: [(exchange: UInt64, attempt: Int)] = []
    private var current: (exchange: UInt64, state: ResponseState)?
    private var closeRequested = false
    private var gone = false
    /// App connections written to during the current read and not flushed yet: flushed together
    /// when the read is over, so that a response read at once leaves in one write, not three.
    private var unflushed: [OutboundDownstreamHandler] = []

    init(id: UInt64, driver: SidecarDriver) {
        self.id = id
        self.driver = driver
    }

    func connect(to endpoint: MeshProxy.SocketAddress, timeout: TimeAmount) {
        let link = self
        // Local mode: the peer's sidecar listens on its inbound port at the endpoint's IP.
        let bootstrap = ClientBootstrap(group: driver.eventLoop)
            .connectTimeout(timeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // mTLS towards the peer sidecar, with the certificate current at connect time.
                    try link.driver.addPeerTLSClient(to: channel.pipeline.syncOperations)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .dropBytes)
                    try channel.pipeline.syncOperations.addHandler(link)
                }
            }
        // Under iptables capture the endpoint itself is dialled and the peer pod's rules redirect
        // the connection to its sidecar's inbound listener.
        let port = driver.settings.capture == .iptables ? endpoint.port : driver.settings.inboundPort
        bootstrap.connect(host: endpoint.ip, port: port).whenComplete { result in
            switch result {
            case .success(let channel):
                link.connected(channel)
            case .failure(let error):
                link.driver.count(.upstreamConnectFailed)
                link.driver.logger.info("upstream connect failed", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
                link.lost()
            }
        }
    }

    private func connected(_ channel: any Channel) {
        guard !gone else { channel.close(promise: nil); return }
        self.channel = channel
        for (head, body) in unsent { write(head, body, on: channel) }
        unsent.removeAll()
        channel.flush()
    }

    func send(exchange: UInt64, attempt: Int, head: NIOHTTP1.HTTPRequestHead, body: ByteBuffer?) {
        awaiting.append((exchange, attempt))
        if let channel {
            write(head, body, on: channel)
            channel.flush()
        } else {
            unsent.append((head, body))
        }
    }

    private func write(_ head: NIOHTTP1.HTTPRequestHead, _ body: ByteBuffer?, on channel: any Channel) {
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body, body.readableBytes > 0 { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
        channel.write(HTTPClientRequestPart.end(nil), promise: nil)
    }

    func isDelivering(exchange: UInt64) -> Bool {
        if let current, current.exchange == exchange, case .waitingForHead = current.state { return true }
        return false
    }

    /// The engine chose this response as the answer: stream it to the app.
    func forwardResponse(to downstream: OutboundDownstreamHandler) {
        guard let head = pendingHead, let current else { return }
        self.current = (current.exchange, .forwarding(downstream))
        downstream.startStreamedResponse(head, flush: false)
        flushAfterRead(downstream)
    }

    private func flushAfterRead(_ downstream: OutboundDownstreamHandler) {
        if !unflushed.contains(where: { $0 === downstream }) { unflushed.append(downstream) }
    }

    /// The engine closes this connection: after the response being read, if any.
    func closeWhenDone() {
        closeRequested = true
        if current == nil { channel?.close(promise: nil) }
    }

    private var pendingHead: NIOHTTP1.HTTPResponseHead?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard head.status.code >= 200 else { return } // 1xx: informational, the final head follows
            guard !awaiting.isEmpty else {
                // A response nobody asked for: the connection is out of step.
                context.close(promise: nil)
                return
            }
            let (exchange, attempt) = awaiting.removeFirst()
            current = (exchange, .waitingForHead)
            pendingHead = head
            driver.upstreamResponseHead(on: self, exchange: exchange, attempt: attempt, head: head)
            pendingHead = nil
            if let current, case .waitingForHead = current.state { self.current = (current.exchange, .draining) }
        case .body(let part):
            if let current, case .forwarding(let downstream) = current.state {
                downstream.streamBody(part, from: context.channel, flush: false)
                flushAfterRead(downstream)
            }
        case .end(let trailers):
            if let current, case .forwarding(let downstream) = current.state { downstream.finishStreamedResponse(trailers: trailers) }
            current = nil
            if closeRequested && awaiting.isEmpty { context.close(promise: nil) }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushDownstreams()
        context.fireChannelReadComplete()
    }

    private func flushDownstreams() {
        guard !unflushed.isEmpty else { return }
        var written: [OutboundDownstreamHandler] = []
        swap(&written, &unflushed)
        for downstream in written { downstream.flushResponse() }
        // Keep the array's storage for the next read (unless a flush added to the list meanwhile).
        if unflushed.isEmpty {
            written.removeAll(keepingCapacity: true)
            unflushed = written
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        flushDownstreams()
        if let current, case .forwarding(let downstream) = current.state {
            // The body was cut short: the app cannot get a complete response any more.
            downstream.abortStreamedResponse()
        }
        current = nil
        if !closeRequested && !awaiting.isEmpty { driver.count(.upstreamReset) }
        lost()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        driver.logger.debug("upstream connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private func lost() {
        guard !gone else { return }
        gone = true
        awaiting.removeAll()
        unsent.removeAll()
        driver.upstreamLost(self)
    }
}
