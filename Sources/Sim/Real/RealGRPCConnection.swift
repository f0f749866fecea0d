import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// A `grpc://` load worker's connection: HTTP/2 with prior knowledge (grpcurl `-plaintext`), one
/// stream per call (DECISIONS 189): the call's head (`POST`, `content-type: application/grpc`,
/// `te: trailers`) with an empty body, then the answer's head, body and trailers, whose
/// `grpc-status` (in the trailers, or in a trailers-only head) the recorder reads.
final class RealGRPCConnection: RealLoadConnection, Sendable {
    private let channel: any Channel
    private let multiplexer: NIOHTTP2Handler.StreamMultiplexer

    private init(channel: any Channel, multiplexer: NIOHTTP2Handler.StreamMultiplexer) {
        self.channel = channel
        self.multiplexer = multiplexer
    }

    var isActive: Bool { channel.isActive }

    func close() { channel.close(promise: nil) }

    /// An h2c connection to `host:port` from `bindTo` (the outside client's address).
    static func connect(host: String, port: Int, bindTo: String?, group: any EventLoopGroup) async throws -> RealGRPCConnection {
        var bootstrap = ClientBootstrap(group: group)
        if let bindTo { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: bindTo, port: 0)) }
        let (channel, multiplexer) = try await bootstrap
            .connectTimeout(.seconds(10))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let multiplexer = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()
                    ) { pushed in pushed.close() }  // no server push
                    return (channel, multiplexer)
                }
            }
        return RealGRPCConnection(channel: channel, multiplexer: multiplexer)
    }

    /// One unary call with an empty body; the answer's trailers are merged into its headers.
    func call(_ head: HTTPRequestHead, timeout: TimeAmount) async throws -> RealHTTPConnection.Response {
        let answer = channel.eventLoop.makePromise(of: RealHTTPConnection.Response.self)
        let channel = channel
        let timer = channel.eventLoop.scheduleTask(in: timeout) { answer.fail(RealHTTPConnection.Failure.closedBeforeAnswer) }
        defer { timer.cancel() }
        let opened = channel.eventLoop.makePromise(of: (any Channel).self)
        opened.futureResult.whenFailure { answer.fail($0) }
        let multiplexer = multiplexer
        // On the connection's loop, where the multiplexer lives.
        channel.eventLoop.execute {
            multiplexer.createStreamChannel(promise: opened) { stream in
                stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .http))
                    try stream.pipeline.syncOperations.addHandler(CallStream(head: head, answer: answer))
                }
            }
        }
        return try await answer.futureResult.get()
    }

    /// Sends the call when the stream is up and collects its answer.
    private final class CallStream: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart

        private let head: HTTPRequestHead
        private let answer: EventLoopPromise<RealHTTPConnection.Response>
        private var response: RealHTTPConnection.Response?
        private var sent = false

        init(head: HTTPRequestHead, answer: EventLoopPromise<RealHTTPConnection.Response>) {
            self.head = head
            self.answer = answer
        }

        func handlerAdded(context: ChannelHandlerContext) {
            if context.channel.isActive { send(context) }
        }

        func channelActive(context: ChannelHandlerContext) {
            send(context)
            context.fireChannelActive()
        }

        private func send(_ context: ChannelHandlerContext) {
            guard !sent else { return }
            sent = true
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                guard head.status.code >= 200 else { return }
                response = RealHTTPConnection.Response(status: Int(head.status.code), headers: head.headers, body: "")
            case .body(let buffer):
                response?.body += String(buffer: buffer)
            case .end(let trailers):
                guard var response else { return }
                if let trailers { response.headers.add(contentsOf: trailers) }
                self.response = nil
                // The stream closes by itself: both sides ended it (closing it would reset it).
                answer.succeed(response)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            answer.fail(RealHTTPConnection.Failure.closedBeforeAnswer)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            answer.fail(error)
            context.close(promise: nil)
        }
    }
}
