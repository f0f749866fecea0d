import NIOCore
import NIOHTTP1
import NIOPosix

/// A load worker's connection to its client pod's sidecar: HTTP/1.1 keep-alive, one request at a
/// time (fortio's workers keep their connection; after a failure they open a new one).
final class RealHTTPConnection: Sendable {
    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String
    }

    enum Failure: Error {
        case closedBeforeAnswer
    }

    /// A request and where its answer goes.
    struct Call {
        var head: HTTPRequestHead
        var bodyBytes: Int
        var promise: EventLoopPromise<Response>
    }

    private let channel: any Channel
    /// Dialled straight to a pod's inbound listener (a client outside the mesh): the pod's port
    /// each request names, as the capture's original destination would.
    let targetPort: Int?
    /// An https:// connection's view of its TLS layer's errors.
    private let tlsWatch: RealTLSFailureWatch?

    private init(channel: any Channel, targetPort: Int?, tlsWatch: RealTLSFailureWatch?) {
        self.channel = channel
        self.targetPort = targetPort
        self.tlsWatch = tlsWatch
    }

    /// `bindTo`: the client's own address (a pod's), so the server sees where it comes from;
    /// `tls`: HTTP inside TLS (an https:// load); `tunnel`: first a `CONNECT` to that authority
    /// (`host:port`, with the request's id) and the TLS through it (`RealConnectTunnel`: an
    /// https:// load from a meshed pod, whose sidecar is its HTTP proxy in local mode).
    static func connect(host: String, port: Int, bindTo: String? = nil, targetPort: Int? = nil, tls: RealTLSClient? = nil,
                        tunnel: (authority: String, requestID: String?)? = nil, group: any EventLoopGroup) async throws -> RealHTTPConnection {
        let loop = group.next()
        var bootstrap = ClientBootstrap(group: loop)
        if let bindTo { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: bindTo, port: 0)) }
        let watch = tls.map { _ in RealTLSFailureWatch() }
        let established = loop.makePromise(of: Void.self)
        let install: @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void = { operations in
            if let tls, let watch { try tls.install(on: operations, watch: watch) }
            try operations.addHTTPClientHandlers()
            try operations.addHandler(CallHandler())
        }
        let channel: any Channel
        do {
            channel = try await bootstrap
                .connectTimeout(.seconds(10))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        guard let tunnel else { return try install(channel.pipeline.syncOperations) }
                        try channel.pipeline.syncOperations.addHandler(RealConnectTunnel(authority: tunnel.authority, requestID: tunnel.requestID,
                                                                                        established: established, install: install))
                    }
                }
                .connect(host: host, port: port)
                .get()
        } catch {
            established.fail(error)
            throw error
        }
        if tunnel == nil { established.succeed(()) }
        // A sidecar that never answers the CONNECT: closed, which fails `established`.
        let timer = channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
        defer { timer.cancel() }
        try await established.futureResult.get()
        return RealHTTPConnection(channel: channel, targetPort: targetPort, tlsWatch: watch)
    }

    /// The TLS layer failed (a handshake, or the server's refusal of the client's certificate).
    var tlsFailed: Bool { tlsWatch?.sawFailure ?? false }

    /// Sends one request (with `bodyBytes` bytes of body, as its head's content-length says) and
    /// reads the whole answer, bounded by `timeout`.
    func request(_ head: HTTPRequestHead, bodyBytes: Int = 0, timeout: TimeAmount) async throws -> Response {
        let promise = channel.eventLoop.makePromise(of: Response.self)
        let channel = channel
        let timer = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { timer.cancel() }
        channel.writeAndFlush(Call(head: head, bodyBytes: bodyBytes, promise: promise)).whenFailure { promise.fail($0) }
        return try await promise.futureResult.get()
    }

    var isActive: Bool { channel.isActive }

    func close() { channel.close(promise: nil) }

    private final class CallHandler: ChannelDuplexHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundIn = Call
        typealias OutboundOut = HTTPClientRequestPart

        private var pending: EventLoopPromise<Response>?
        private var response: Response?

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            let call = unwrapOutboundIn(data)
            guard pending == nil else {
                call.promise.fail(Failure.closedBeforeAnswer)
                promise?.fail(Failure.closedBeforeAnswer)
                return
            }
            pending = call.promise
            response = nil
            context.write(wrapOutboundOut(.head(call.head)), promise: nil)
            if call.bodyBytes > 0 {
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(repeating: UInt8(ascii: "x"), count: call.bodyBytes)))), promise: nil)
            }
            context.write(wrapOutboundOut(.end(nil)), promise: promise)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                guard head.status.code >= 200 else { return }
                response = Response(status: Int(head.status.code), headers: head.headers, body: "")
            case .body(let buffer):
                response?.body += String(buffer: buffer)
            case .end:
                guard let response, let pending else { return }
                self.pending = nil
                self.response = nil
                pending.succeed(response)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            pending?.fail(Failure.closedBeforeAnswer)
            pending = nil
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            pending?.fail(error)
            pending = nil
            context.close(promise: nil)
        }
    }
}
