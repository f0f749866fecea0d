import NIOCore
import NIOHTTP1
import NIOPosix

/// The demo apps' HTTP/1.1 server: reads each request whole, asks `respond` (called on the
/// connection's event loop) and writes the answer, after its delay if it has one.
public final class DemoHTTPServer: Sendable {
    public typealias Responder = @Sendable (DemoRequest) -> DemoResponse

    private let channel: any Channel
    /// The address actually bound.
    public let localAddress: NIOCore.SocketAddress?

    private init(channel: any Channel) {
        self.channel = channel
        self.localAddress = channel.localAddress
    }

    /// Requests larger than this are answered 413.
    public static let maxBody = 1 << 20

    public static func start(host: String, port: Int, group: any EventLoopGroup, respond: @escaping Responder) async throws -> DemoHTTPServer {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(DemoRequestHandler(respond: respond))
                }
            }
            .bind(host: host, port: port)
            .get()
        return DemoHTTPServer(channel: channel)
    }

    public func close() async {
        try? await channel.close()
    }
}

final class DemoRequestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let respond: DemoHTTPServer.Responder
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooLarge = false

    init(respond: @escaping DemoHTTPServer.Responder) {
        self.respond = respond
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            tooLarge = false
        case .body(var part):
            if body.readableBytes + part.readableBytes > DemoHTTPServer.maxBody { tooLarge = true } else { body.writeBuffer(&part) }
        case .end:
            guard let head else { return }
            self.head = nil
            let response: DemoResponse
            if tooLarge {
                response = .text(413, "request body too large\n")
            } else {
                let request = DemoRequest(method: head.method.rawValue, uri: head.uri,
                                          headers: head.headers.map { ($0.name, $0.value) }, body: String(buffer: body))
                response = respond(request)
            }
            let keepAlive = head.isKeepAlive
            let channel = context.channel
            if response.delayMilliseconds > 0 {
                context.eventLoop.scheduleTask(in: .milliseconds(Int64(response.delayMilliseconds))) {
                    Self.write(response, keepAlive: keepAlive, on: channel)
                }
            } else {
                Self.write(response, keepAlive: keepAlive, on: channel)
            }
        }
    }

    static func write(_ response: DemoResponse, keepAlive: Bool, on channel: any Channel) {
        var headers = HTTPHeaders()
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.replaceOrAdd(name: "content-length", value: String(response.body.utf8.count))
        headers.replaceOrAdd(name: "connection", value: keepAlive ? "keep-alive" : "close")
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        if !response.body.isEmpty {
            channel.write(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(string: response.body))), promise: nil)
        }
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
