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

    let id: UInt64
    private let driver: SidecarDriver
    private var channel: (any Channel)?
    /// The queue, the awaited answers and the response being read (`UpstreamLinkState`).
    private var state = UpstreamLinkState<Outgoing, OutboundDownstreamHandler>()
    /// The channel while it connects (its handlers are installed before the connect).
    private var opening: (any Channel)?
    /// The TLS handshake with the peer sidecar failed (set by its `TLSHandshakeGuard`, on the loop).
    var handshakeFailed = false
    /// App connections written to during the current read and not flushed yet: flushed together
    /// when the read is over, so that a response read at once leaves in one write, not three.
    private var unflushed: [OutboundDownstreamHandler] = []
    /// The head being reported to the engine.
    private var pendingHead: NIOHTTP1.HTTPResponseHead?
    /// `writeNext` is running (a complete body's end, written from within it, must not re-enter it).
    private var inWriteNext = false
    /// Writes the requests as bytes and tells the response decoder of them.
    private let requests = HTTP1RequestWriter()

    struct Outgoing {
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
        // Plain (egress, a gateway) to a meshed pod in local mode: its inbound listener too,
        // the request naming the port (`SidecarSettings.meshedPodIPs`).
        let direct = egress && !driver.settings.capturesLocally(endpoint)
        let port = direct || driver.settings.capture.isTransparent ? endpoint.port : driver.settings.inboundPort
        driver.connect(host: endpoint.ip, port: port, timeout: timeout, cluster: cluster) { channel in
            link.opening = channel
            // mTLS towards the peer sidecar, with the certificate current at connect time. A
            // handshake that fails makes the connection a failed connect (503, `UF`).
            if !egress { try link.driver.addPeerTLSClient(to: channel.pipeline.syncOperations) { link.handshakeFailed = true } }
            if egress, let cluster { try link.driver.addGatewayUpstreamTLS(cluster: cluster, to: channel.pipeline.syncOperations) { link.handshakeFailed = true } }
            try channel.pipeline.syncOperations.addDataPathHTTPClientHandlers(requests: link.requests)
            try channel.pipeline.syncOperations.addHandler(link)
        }.whenComplete { result in
            switch result {
            case .success(let channel):
                link.connected(channel)
            case .failure(let error):
                // Nil: abandoned by the engine (its connect timeout), already accounted for.
                guard let lost = link.state.connectFailed() else { return }
                link.driver.count(.upstreamConnectFailed)
                link.driver.logger.warning("upstream connect failed", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
                link.report(lost)
            }
        }
    }

    private func connected(_ channel: any Channel) {
        opening = nil
        guard state.connected() else { channel.close(promise: nil); return }
        self.channel = channel
        driver.upstreamConnected(self)
        writeNext()
    }

    func send(exchange: UInt64, attempt: Int, head: NIOHTTP1.HTTPRequestHead, body: RequestBody?) {
        if state.send(exchange: exchange, attempt: attempt, request: Outgoing(head: head, body: body)) { writeNext() }
    }

    /// Writes the requests at the front of the queue until one's body is still coming.
    private func writeNext() {
        guard let channel, !inWriteNext else { return }
        inWriteNext = true
        defer { inWriteNext = false }
        while let (_, first) = state.nextWrite() {
            var head = first.head
            if let body = first.body, !body.isComplete, !head.headers.contains(name: "content-length") {
                head.headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
            }
            // A head that may not be sent (what the app sent, or a config's header) closes the
            // connection: everything queued is gone with it (`lost`).
            guard requests.writeHead(head, on: channel) else { return failed(channel, HTTPParserError.invalidHeaderToken) }
            state.headWritten(hasBody: first.body != nil)
            guard let body = first.body else {
                requests.writeEnd(on: channel, flush: false)
                continue
            }
            // Writes what the body holds and, when complete, its end (which moves the queue on).
            body.attach(self)
            if state.writingFirst { break }
        }
        channel.flush()
    }

    func isDelivering(exchange: UInt64) -> Bool { state.isDelivering(exchange: exchange) }

    /// The engine chose this response as the answer: stream it to the app.
    func forwardResponse(to downstream: OutboundDownstreamHandler) {
        guard let head = pendingHead, state.forward(to: downstream) else { return }
        downstream.startStreamedResponse(head, flush: false)
        flushAfterRead(downstream)
    }

    private func flushAfterRead(_ downstream: OutboundDownstreamHandler) {
        if !unflushed.contains(where: { $0 === downstream }) { unflushed.append(downstream) }
    }

    /// The engine closes this connection: after the response being read, if any. One still
    /// opening is abandoned with what waits for it (the engine already gave up on those attempts).
    func closeWhenDone() {
        switch state.closeWhenDone() {
        case .abandonOpening:
            opening?.close(promise: nil)
            opening = nil
        case .closeNow:
            channel?.close(promise: nil)
        case .closeAfterResponse, .none:
            break
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            switch state.responseHead(status: Int(head.status.code)) {
            case .ignore:
                return
            case .outOfStep:
                context.close(promise: nil)
            case let .deliver(exchange, attempt):
                pendingHead = head
                driver.upstreamResponseHead(on: self, exchange: exchange, attempt: attempt, head: head)
                pendingHead = nil
                state.headReported()
            }
        case .body(let part):
            if let downstream = state.forwardingTo {
                downstream.streamBody(part, from: context.channel, flush: false)
                flushAfterRead(downstream)
            }
        case .end(let trailers):
            let end = state.responseEnded()
            end.finished?.finishStreamedResponse(trailers: trailers)
            // Answered before its body was all sent (an early answer, or an attempt to be
            // retried): the rest cannot follow on this connection, which must go.
            end.abandonedBody?.body?.detach(self)
            if end.close { context.close(promise: nil) }
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
        let closed = state.channelClosed(handshakeFailed: handshakeFailed)
        // The body was cut short: the app cannot get a complete response any more.
        closed.abort?.abortStreamedResponse()
        if closed.countReset { driver.count(.upstreamReset) }
        if let lost = closed.lost { report(lost) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failed(context.channel, error)
    }

    private func failed(_ channel: any Channel, _ error: any Error) {
        driver.logger.debug("upstream connection error", metadata: ["error": "\(error)"])
        channel.close(promise: nil)
        // Gone for the engine now: under mTLS the channel goes inactive only once the TLS
        // shutdown is over, and a request (one whose head may not be sent, say) would wait for it.
        if let lost = state.failed() { report(lost) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { state.streamingBody?.body?.sinkBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    private func report(_ lost: UpstreamLinkState<Outgoing, OutboundDownstreamHandler>.Lost) {
        lost.bodyInProgress?.body?.detach(self)
        driver.upstreamLost(self, connectFailed: lost.connectFailed)
    }
}

extension UpstreamLink: RequestBodySink {
    func writeBodyPart(_ part: ByteBuffer) {
        if let channel { requests.writeBody(part, on: channel, flush: true) }
    }

    func writeBodyEnd() {
        guard let channel, state.bodyEnded() else { return }
        requests.writeEnd(on: channel, flush: false)
        writeNext()
    }

    func abandonBody() {
        if state.bodyAbandoned() { channel?.close(promise: nil) }
    }

    var acceptsBody: Bool { channel?.isWritable ?? false }
}
