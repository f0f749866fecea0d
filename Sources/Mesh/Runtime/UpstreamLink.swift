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
    /// Requests not completely written yet, oldest first: the first one is on the wire (its body
    /// may still be streaming), the others wait behind it (before the connection is up, or
    /// pipelined behind a body still coming).
    private var outgoing: [Outgoing] = []
    /// Whether the first of `outgoing` has its head written and its body attached.
    private var writingFirst = false
    /// Attempts whose response head has not arrived, oldest first.
    private var awaiting: [(exchange: UInt64, attempt: Int)] = []
    private var current: (exchange: UInt64, state: ResponseState)?
    private var closeRequested = false
    private var gone = false
    /// The channel while it connects (its handlers are installed before the connect).
    private var opening: (any Channel)?
    /// The TLS handshake with the peer sidecar failed (set by its `TLSHandshakeGuard`, on the loop).
    var handshakeFailed = false
    /// App connections written to during the current read and not flushed yet: flushed together
    /// when the read is over, so that a response read at once leaves in one write, not three.
    private var unflushed: [OutboundDownstreamHandler] = []

    private struct Outgoing {
        var exchange: UInt64
        var head: NIOHTTP1.HTTPRequestHead
        /// nil: no body (or an empty one), the request ends with its head.
        var body: RequestBody?
    }

    init(id: UInt64, driver: SidecarDriver) {
        self.id = id
        self.driver = driver
    }

    /// `egress`: the original destination itself, outside the mesh (egress passthrough): its own
    /// port, in plain.
    func connect(to endpoint: MeshProxy.SocketAddress, timeout: TimeAmount, cluster: String? = nil, egress: Bool = false) {
        let link = self
        // Local mode: the peer's sidecar listens on its inbound port at the endpoint's IP.
        // Under capture the endpoint itself is dialled and the peer pod's rules (iptables) or the
        // interceptor's programs (eBPF) redirect the connection to its sidecar's inbound listener.
        let port = egress || driver.settings.capture.isTransparent ? endpoint.port : driver.settings.inboundPort
        driver.connect(host: endpoint.ip, port: port, timeout: timeout, cluster: cluster) { channel in
            link.opening = channel
            // mTLS towards the peer sidecar, with the certificate current at connect time. A
            // handshake that fails makes the connection a failed connect (503, `UF`).
            if !egress { try link.driver.addPeerTLSClient(to: channel.pipeline.syncOperations) { link.handshakeFailed = true } }
            if egress, let cluster { try link.driver.addGatewayUpstreamTLS(cluster: cluster, to: channel.pipeline.syncOperations) { link.handshakeFailed = true } }
            try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .dropBytes)
            try channel.pipeline.syncOperations.addHandler(link)
        }.whenComplete { result in
            switch result {
            case .success(let channel):
                link.connected(channel)
            case .failure(let error):
                // Abandoned by the engine (its connect timeout): already accounted for.
                guard !link.gone else { return }
                link.driver.count(.upstreamConnectFailed)
                link.driver.logger.warning("upstream connect failed", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
                link.lost(connectFailed: true)
            }
        }
    }

    private func connected(_ channel: any Channel) {
        opening = nil
        guard !gone else { channel.close(promise: nil); return }
        self.channel = channel
        driver.upstreamConnected(self)
        writeNext()
    }

    func send(exchange: UInt64, attempt: Int, head: NIOHTTP1.HTTPRequestHead, body: RequestBody?) {
        awaiting.append((exchange, attempt))
        outgoing.append(Outgoing(exchange: exchange, head: head, body: body))
        if outgoing.count == 1 { writeNext() }
    }

    /// Writes the requests at the front of the queue until one's body is still coming.
    private func writeNext() {
        guard let channel, !writingFirst, !inWriteNext else { return }
        inWriteNext = true
        defer { inWriteNext = false }
        while let first = outgoing.first {
            var head = first.head
            if let body = first.body, !body.isComplete, !head.headers.contains(name: "content-length") {
                head.headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
            }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            // A head the client codec refuses (its validation of what the app sent) closes the
            // connection from within the write: everything queued is gone with it (`lost`).
            if gone { return }
            guard let body = first.body else {
                outgoing.removeFirst()
                channel.write(HTTPClientRequestPart.end(nil), promise: nil)
                continue
            }
            writingFirst = true
            // Writes what the body holds and, when complete, its end (which moves the queue on).
            body.attach(self)
            if writingFirst { break }
        }
        channel.flush()
    }

    /// `writeNext` is running (a complete body's end, written from within it, must not re-enter it).
    private var inWriteNext = false
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

    /// The engine closes this connection: after the response being read, if any. One still
    /// opening is abandoned with what waits for it (the engine already gave up on those attempts).
    func closeWhenDone() {
        closeRequested = true
        guard channel != nil else {
            gone = true
            awaiting.removeAll()
            outgoing.removeAll()
            opening?.close(promise: nil)
            opening = nil
            return
        }
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
            let exchange = current?.exchange
            if let current, case .forwarding(let downstream) = current.state { downstream.finishStreamedResponse(trailers: trailers) }
            current = nil
            if writingFirst, let first = outgoing.first, first.exchange == exchange {
                // Answered before its body was all sent (an early answer, or an attempt to be
                // retried): the rest cannot follow on this connection, which must go.
                first.body?.detach(self)
                return
            }
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
        if !closeRequested && !awaiting.isEmpty && !handshakeFailed { driver.count(.upstreamReset) }
        lost(connectFailed: handshakeFailed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        driver.logger.debug("upstream connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
        // Gone for the engine now: under mTLS the channel goes inactive only once the TLS
        // shutdown is over, and a request (one whose head the client codec refused, say) would
        // wait for it.
        lost()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, writingFirst { outgoing.first?.body?.sinkBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    private func lost(connectFailed: Bool = false) {
        guard !gone else { return }
        gone = true
        awaiting.removeAll()
        let first = writingFirst ? outgoing.first?.body : nil
        writingFirst = false
        outgoing.removeAll()
        first?.detach(self)
        driver.upstreamLost(self, connectFailed: connectFailed)
    }
}

extension UpstreamLink: RequestBodySink {
    func writeBodyPart(_ part: ByteBuffer) {
        channel?.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(part)), promise: nil)
    }

    func writeBodyEnd() {
        guard writingFirst, let channel else { return }
        writingFirst = false
        outgoing.removeFirst()
        channel.write(HTTPClientRequestPart.end(nil), promise: nil)
        writeNext()
    }

    func abandonBody() {
        guard writingFirst else { return }
        writingFirst = false
        outgoing.removeFirst()
        channel?.close(promise: nil)
    }

    var acceptsBody: Bool { channel?.isWritable ?? false }
}
