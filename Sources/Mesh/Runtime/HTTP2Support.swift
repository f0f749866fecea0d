import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// The HTTP/2 connection preface a client with prior knowledge (h2c, or h2 inside TLS) sends first.
enum HTTP2Preface {
    static let bytes: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    /// A connection whose first bytes match this much of the preface and then differ is a broken
    /// HTTP/2 client (`PRI ` is no HTTP/1.1 method), not an HTTP/1.1 one.
    static let committedLength = 4
}

/// First handler of a downstream connection (after TLS on the inbound listener): the connection
/// preface means HTTP/2 with prior knowledge, anything else is HTTP/1.1. It installs the handlers
/// of the protocol it saw, hands them the bytes read so far, and leaves the pipeline.
/// A connection that starts like the preface and then breaks it is counted
/// (`runtime.downstream_cx_h2_bad_preface`) and closed.
final class DownstreamProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let driver: SidecarDriver
    private let listener: String
    private let installHTTP1: (ChannelPipeline.SynchronousOperations) throws -> Void
    private let installHTTP2: (ChannelPipeline.SynchronousOperations) throws -> Void
    private var buffered: ByteBuffer?
    private var decided = false

    init(driver: SidecarDriver, listener: String,
         installHTTP1: @escaping (ChannelPipeline.SynchronousOperations) throws -> Void,
         installHTTP2: @escaping (ChannelPipeline.SynchronousOperations) throws -> Void) {
        self.driver = driver
        self.listener = listener
        self.installHTTP1 = installHTTP1
        self.installHTTP2 = installHTTP2
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else {
            context.fireChannelRead(data)
            return
        }
        var incoming = unwrapInboundIn(data)
        if buffered == nil { buffered = incoming } else { buffered!.writeBuffer(&incoming) }
        let seen = buffered!.readableBytesView
        let compared = min(seen.count, HTTP2Preface.bytes.count)
        var matching = 0
        for (byte, expected) in zip(seen.prefix(compared), HTTP2Preface.bytes) {
            guard byte == expected else { break }
            matching += 1
        }
        if matching == compared && compared < HTTP2Preface.bytes.count { return } // wait for the rest
        if matching == HTTP2Preface.bytes.count {
            driver.count(.downstreamHTTP2Connections)
            switchProtocol(context: context, install: installHTTP2)
        } else if matching >= HTTP2Preface.committedLength {
            decided = true
            buffered = nil
            driver.count(.http2BadPreface)
            driver.logger.info("bad HTTP/2 connection preface", metadata: [
                "listener": "\(listener)", "peer": "\(context.channel.remoteAddress?.description ?? "?")",
            ])
            context.close(promise: nil)
        } else {
            switchProtocol(context: context, install: installHTTP1)
        }
    }

    private func switchProtocol(context: ChannelHandlerContext, install: (ChannelPipeline.SynchronousOperations) throws -> Void) {
        decided = true
        do {
            try install(context.pipeline.syncOperations)
        } catch {
            driver.logger.warning("cannot set up the connection's protocol handlers", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        let bytes = buffered!
        buffered = nil
        context.fireChannelRead(wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// Last handler of an HTTP/2 connection (downstream or upstream). NIO's HTTP/2 handler has already
/// sent GOAWAY for a connection error when the error arrives here; this counts protocol errors
/// (`runtime.downstream_cx_h2_protocol_error` on listeners) and closes the connection, so only
/// that connection goes. Upstream, it also takes the connection out of the pool on GOAWAY.
final class HTTP2ConnectionGuard: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame

    private let driver: SidecarDriver
    private let side: String
    private let countsProtocolErrors: Bool
    /// The peer said GOAWAY: no new streams on this connection.
    var onGoAway: (() -> Void)?

    init(driver: SidecarDriver, side: String, countsProtocolErrors: Bool) {
        self.driver = driver
        self.side = side
        self.countsProtocolErrors = countsProtocolErrors
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .goAway = unwrapInboundIn(data).payload { onGoAway?() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is any NIOHTTP2Error {
            if countsProtocolErrors { driver.count(.http2ProtocolError) }
            driver.logger.info("HTTP/2 protocol error, closing the connection", metadata: [
                "side": "\(side)", "peer": "\(context.channel.remoteAddress?.description ?? "?")", "error": "\(error)",
            ])
        } else {
            driver.logger.debug("HTTP/2 connection error", metadata: ["side": "\(side)", "error": "\(error)"])
        }
        context.close(promise: nil)
    }
}

/// NIO's HTTP/2-to-HTTP/1 server codec ends a response with an empty DATA frame. For a response
/// without a body this folds the HEADERS and that DATA into one HEADERS frame with END_STREAM, so
/// a gRPC local answer is a real "trailers-only" response, as gRPC clients expect.
final class HTTP2HeadersCoalescer: ChannelOutboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private var pending: (headers: HTTP2Frame.FramePayload.Headers, promise: EventLoopPromise<Void>?)?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let payload = unwrapOutboundIn(data)
        if case .headers(let headers) = payload, !headers.endStream, pending == nil {
            pending = (headers, promise)
            return
        }
        if let held = pending {
            pending = nil
            if case .data(let body) = payload, body.endStream, body.data.readableBytes == 0 {
                var merged = held.headers
                merged.endStream = true
                var combined = held.promise
                combined.setOrCascade(to: promise)
                context.write(wrapOutboundOut(.headers(merged)), promise: combined)
                return
            }
            context.write(wrapOutboundOut(.headers(held.headers)), promise: held.promise)
        }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        writePending(context: context)
        context.flush()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        writePending(context: context)
        context.close(mode: mode, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        pending?.promise?.fail(ChannelError.ioOnClosedChannel)
        pending = nil
    }

    private func writePending(context: ChannelHandlerContext) {
        guard let held = pending else { return }
        pending = nil
        context.write(wrapOutboundOut(.headers(held.headers)), promise: held.promise)
    }
}

extension SidecarDriver {
    /// HTTP/2 on a downstream connection: each stream gets the same HTTP/1-shaped handler an
    /// HTTP/1.1 connection gets (`makeHandler(nil)`), through NIO's HTTP/2-to-HTTP/1 codec.
    func installHTTP2Server(on pipeline: ChannelPipeline.SynchronousOperations, listener: String,
                            makeHandler: @escaping @Sendable (HTTPServerHandlers?) -> any ChannelHandler) throws {
        let idleTimeout = HTTP2IdleTimeout(driver: self)
        _ = try pipeline.configureHTTP2Pipeline(mode: .server, connectionConfiguration: .init(), streamConfiguration: .init(), streamDelegate: idleTimeout) { stream in
            stream.eventLoop.makeCompletedFuture {
                let operations = stream.pipeline.syncOperations
                try operations.addHandler(HTTP2HeadersCoalescer())
                try operations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try operations.addHandler(NIOHTTPResponseHeadersValidator())
                try operations.addHandler(makeHandler(nil))
            }
        }
        try pipeline.addHandler(idleTimeout)
        try pipeline.addHandler(HTTP2ConnectionGuard(driver: self, side: listener, countsProtocolErrors: true))
    }

    /// A shared HTTP/2 connection to `host:port` (a peer sidecar's inbound listener under mTLS with
    /// ALPN h2, or a local app in h2c), opened on first use and kept while it is healthy.
    func http2Connection(host: String, port: Int, toPeerSidecar: Bool, connectTimeout: TimeAmount) -> HTTP2ClientConnection {
        let key = "\(toPeerSidecar ? "peer" : "app")|\(host)|\(port)"
        if let existing = http2Connections[key], existing.isUsable { return existing }
        let connection = HTTP2ClientConnection(key: key, driver: self)
        http2Connections[key] = connection
        connection.connect(host: host, port: port, toPeerSidecar: toPeerSidecar, timeout: connectTimeout)
        return connection
    }

    func http2ConnectionGone(_ connection: HTTP2ClientConnection) {
        if http2Connections[connection.key] === connection { http2Connections[connection.key] = nil }
    }
}

/// One client HTTP/2 connection, shared by every request to its address: each request is a stream
/// of its own (multiplexed). Streams asked for while it connects wait; if it never comes up, they
/// fail. Loop-confined to the driver's event loop.
final class HTTP2ClientConnection: @unchecked Sendable {
    let key: String
    private let driver: SidecarDriver
    private var multiplexer: NIOHTTP2Handler.StreamMultiplexer?
    private var channel: (any Channel)?
    private var waiting: [(initialize: @Sendable (any Channel) throws -> Void, failed: @Sendable () -> Void)] = []
    private(set) var isUsable = true
    /// Told once, when the connection closes or cannot be opened.
    private var closeObservers: [() -> Void] = []

    init(key: String, driver: SidecarDriver) {
        self.key = key
        self.driver = driver
    }

    func connect(host: String, port: Int, toPeerSidecar: Bool, timeout: TimeAmount) {
        let connection = self
        let driver = driver
        let watcher = HTTP2ConnectionGuard(driver: driver, side: toPeerSidecar ? "upstream" : "app", countsProtocolErrors: false)
        watcher.onGoAway = { connection.retire() }
        driver.connect(host: host, port: port, timeout: timeout) { channel in
            let operations = channel.pipeline.syncOperations
            if toPeerSidecar { try driver.addPeerTLSClient(to: operations, http2: true) }
            let multiplexer = try operations.configureHTTP2Pipeline(
                mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()
            ) { pushed in pushed.close() } // no server push
            try operations.addHandler(watcher)
            connection.multiplexer = multiplexer
        }.whenComplete { result in
            switch result {
            case .success(let channel):
                connection.connected(channel)
            case .failure(let error):
                // The app side counts its failures where it answers 503 (`appUnreachable`).
                if toPeerSidecar { driver.count(.upstreamConnectFailed) }
                driver.logger.info("HTTP/2 connect failed", metadata: ["to": "\(host):\(port)", "error": "\(error)"])
                connection.failAll()
            }
        }
    }

    private func connected(_ channel: any Channel) {
        self.channel = channel
        driver.count(.upstreamHTTP2Connections)
        channel.closeFuture.whenComplete { [self] _ in failAll() }
        let opens = waiting
        waiting.removeAll()
        for open in opens { openStream(initialize: open.initialize, failed: open.failed) }
    }

    /// Opens a stream: `initialize` sets up its pipeline; `failed` runs if it cannot be opened.
    func openStream(initialize: @escaping @Sendable (any Channel) throws -> Void, failed: @escaping @Sendable () -> Void) {
        guard isUsable else {
            failed()
            return
        }
        guard let multiplexer, channel != nil else {
            waiting.append((initialize, failed))
            return
        }
        let promise = driver.eventLoop.makePromise(of: (any Channel).self)
        promise.futureResult.whenFailure { _ in failed() }
        multiplexer.createStreamChannel(promise: promise) { stream in
            stream.eventLoop.makeCompletedFuture { try initialize(stream) }
        }
    }

    /// The peer sent GOAWAY: streams open keep going, new requests get a new connection.
    func retire() {
        isUsable = false
        driver.http2ConnectionGone(self)
    }

    /// `body` runs when the connection has closed or could not be opened.
    func whenClosed(_ body: @escaping () -> Void) {
        closeObservers.append(body)
    }

    private func failAll() {
        isUsable = false
        channel = nil
        multiplexer = nil
        driver.http2ConnectionGone(self)
        let opens = waiting
        waiting.removeAll()
        for open in opens { open.failed() }
        let observers = closeObservers
        closeObservers.removeAll()
        for observer in observers { observer() }
    }
}

/// What a client HTTP/2 stream reports (to the upstream link or the inbound side's app stream).
protocol HTTP2ClientStreamDelegate: AnyObject {
    func streamResponseHead(_ stream: HTTP2ClientStream, _ head: NIOHTTP1.HTTPResponseHead)
    func streamBody(_ stream: HTTP2ClientStream, _ part: ByteBuffer, from channel: any Channel)
    func streamEnd(_ stream: HTTP2ClientStream, trailers: HTTPHeaders?)
    /// The stream closed (reset, or its connection went) before its response ended.
    func streamLost(_ stream: HTTP2ClientStream, afterHead: Bool)
}

/// One request on a shared HTTP/2 connection, written as HTTP/1 parts through NIO's client codec
/// once the stream is active; the response is reported to the delegate part by part.
final class HTTP2ClientStream: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    /// Strong until the stream is over (the delegate may be gone from every other table by then).
    var delegate: (any HTTP2ClientStreamDelegate)?
    private var request: (head: NIOHTTP1.HTTPRequestHead, body: RequestBody?)?
    /// The body streaming on this stream (nil once complete, or when there is none).
    private var body: RequestBody?
    private var context: ChannelHandlerContext?
    private var gotHead = false
    private var ended = false
    private var reported = false

    init(head: NIOHTTP1.HTTPRequestHead, body: RequestBody?, delegate: any HTTP2ClientStreamDelegate) {
        self.request = (head, body)
        self.delegate = delegate
    }

    /// Sets up a new stream channel for this request.
    func install(on stream: any Channel, secure: Bool) throws {
        let operations = stream.pipeline.syncOperations
        try operations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: secure ? .https : .http))
        try operations.addHandler(self)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { sendRequest(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelActive(context: ChannelHandlerContext) {
        sendRequest(context)
        context.fireChannelActive()
    }

    private func sendRequest(_ context: ChannelHandlerContext) {
        guard let request else { return }
        self.request = nil
        guard let body = request.body else {
            context.write(wrapOutboundOut(.head(request.head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        context.writeAndFlush(wrapOutboundOut(.head(request.head)), promise: nil)
        self.body = body
        // Writes what the body holds, then each part as it comes (client-streaming and bidi gRPC).
        body.attach(self)
    }

    /// The response is not wanted (an attempt the engine will retry, or a cancelled request): reset the stream.
    func cancel() {
        ended = true
        delegate = nil
        releaseBody()
        context?.close(promise: nil)
    }

    /// Stops taking the request body (cut short if incomplete).
    private func releaseBody() {
        guard let body else { return }
        self.body = nil
        body.detach(self)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { body?.sinkBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard head.status.code >= 200, !gotHead else { return }
            gotHead = true
            delegate?.streamResponseHead(self, head)
        case .body(let part):
            delegate?.streamBody(self, part, from: context.channel)
        case .end(let trailers):
            ended = true
            let delegate = delegate
            self.delegate = nil
            delegate?.streamEnd(self, trailers: trailers)
            // Answered before the request body ended: the rest is not wanted (the stream resets).
            releaseBody()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        releaseBody()
        if !ended && !reported {
            reported = true
            let delegate = delegate
            self.delegate = nil
            delegate?.streamLost(self, afterHead: gotHead)
        }
        delegate = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension HTTP2ClientStream: RequestBodySink {
    func writeBodyPart(_ part: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(part))), promise: nil)
    }

    func writeBodyEnd() {
        body = nil
        context?.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// The body went elsewhere (a retry) or the request is over: reset the stream.
    func abandonBody() {
        body = nil
        cancel()
    }

    var acceptsBody: Bool { context?.channel.isWritable ?? false }
}
