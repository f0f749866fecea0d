import Logging
import MeshProxy
import NIOCore
import NIOHTTP1

/// An app's connection to the outbound listener (HTTP/1.1, keep-alive; NIO's pipelining handler
/// hands over one request at a time). The request body is buffered up to the configured limit
/// so that the engine can retry it; the response streams back.
final class OutboundDownstreamHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let driver: SidecarDriver
    private var context: ChannelHandlerContext?
    private var head: NIOHTTP1.HTTPRequestHead?
    private var body: ByteBuffer?
    private var bodyTooLarge = false
    private var keepAlive = true
    /// A request is being answered (counted for the drain on shutdown).
    private var busy = false {
        didSet { if busy != oldValue { driver.requestsInProgress += busy ? 1 : -1 } }
    }
    /// Responses use the request's version (an HTTP/1.0 client gets no chunked encoding).
    private var version = HTTPVersion.http1_1
    private var responding = false
    /// The exchange waiting for the engine's answer.
    var currentExchange: UInt64?

    private let handlers: HTTPServerHandlers

    init(driver: SidecarDriver, handlers: HTTPServerHandlers) {
        self.driver = driver
        self.handlers = handlers
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = nil
            bodyTooLarge = false
            keepAlive = head.isKeepAlive
            version = head.version.major == 1 && head.version.minor == 0 ? .http1_0 : .http1_1
            if let expect = head.headers.first(name: "expect"), expect.lowercased() == "100-continue" {
                // The sidecar reads the whole body before routing (it may need it for a retry),
                // so it invites the body itself; `expect` is not forwarded.
                context.writeAndFlush(wrapOutboundOut(.head(NIOHTTP1.HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
            }
        case .body(var part):
            guard !bodyTooLarge else { return }
            if (body?.readableBytes ?? 0) + part.readableBytes > driver.settings.maxBufferedRequestBody {
                bodyTooLarge = true
                body = nil
            } else if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            if head.method == .CONNECT {
                // A raw TCP tunnel (tcp / tcp-server-first ports).
                driver.outboundTunnel(authority: head.uri, from: context, handlers: handlers, handler: self)
                return
            }
            if bodyTooLarge {
                driver.count(.requestBodyTooLarge)
                respondLocally(MeshProxy.HTTPResponseHead(status: 413))
                return
            }
            busy = true
            driver.outboundRequest(from: self, head: head, body: body)
            body = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        busy = false
        readPause.resume()
        if let exchange = currentExchange {
            currentExchange = nil
            driver.outboundCancelled(exchange)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError {
            driver.count(.badRequest)
            driver.logger.info("malformed request on outbound listener", metadata: ["error": "\(error)"])
            if !responding && currentExchange == nil {
                keepAlive = false
                respondLocally(MeshProxy.HTTPResponseHead(status: 400))
                return
            }
        }
        context.close(promise: nil)
    }

    // MARK: Answers

    /// A response the sidecar makes itself; status 0 closes the connection without an answer.
    func respondLocally(_ engineHead: MeshProxy.HTTPResponseHead) {
        currentExchange = nil
        guard let context else { return }
        guard engineHead.status > 0 else {
            context.close(promise: nil)
            return
        }
        var headers = HTTPHeaders()
        for header in engineHead.headers { headers.add(name: header.name, value: header.value) }
        let bodyBytes = engineHead.body.map { Array($0.utf8) } ?? []
        headers.replaceOrAdd(name: "content-length", value: String(bodyBytes.count))
        if driver.isDraining { keepAlive = false }
        headers.replaceOrAdd(name: "connection", value: keepAlive ? "keep-alive" : "close")
        let head = NIOHTTP1.HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: engineHead.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !bodyBytes.isEmpty { context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: bodyBytes)))), promise: nil) }
        finish(context)
    }

    func startStreamedResponse(_ upstreamHead: NIOHTTP1.HTTPResponseHead) {
        currentExchange = nil
        guard let context else { return }
        responding = true
        var head = upstreamHead
        head.version = version
        for name in ["connection", "keep-alive", "proxy-connection"] { head.headers.remove(name: name) }
        if driver.isDraining { keepAlive = false }
        head.headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.flush()
    }

    func streamBody(_ part: ByteBuffer, from source: any Channel) {
        guard let context, responding else { return }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(part))), promise: nil)
        readPause.afterWrite(into: context.channel, from: source)
    }

    func finishStreamedResponse() {
        readPause.resume()
        guard let context, responding else { return }
        responding = false
        finish(context)
    }

    func abortStreamedResponse() {
        readPause.resume()
        responding = false
        context?.close(promise: nil)
    }

    private var readPause = ReadPause()

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { readPause.resume() }
        context.fireChannelWritabilityChanged()
    }

    private func finish(_ context: ChannelHandlerContext) {
        busy = false
        let close = !keepAlive
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if close { channel.close(promise: nil) }
        }
    }
}
