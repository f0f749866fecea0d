import MeshRuntime
import struct MeshProxy.B3Context
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import SimCore

/// Response headers the real run's apps add so that the load generator can tell who answered:
/// the Deployment (the simulator's backend) and whether the body is the app's own (the
/// simulator's body count). Answers the sidecars make themselves (403, 429, 503) carry neither.
enum RealAppHeaders {
    static let deployment = "x-real-deployment"
    static let appBody = "x-real-app-body"
}

/// One pod's app: an HTTP server on each of the pod's app ports (on the pod's loopback address)
/// that answers as the scenario's app model says — status, body, service time, injected errors —
/// using the simulator's own model code (`AppModelInstance`), so it decides nothing of its own.
final class RealAppServer: Sendable {
    let pod: RealPod
    let state: NIOLockedValueBox<AppModelInstance>
    /// Where the TCP echo ports note the calls they read.
    let tcpCalls: RealTCPCallLedger
    /// Where the HTTP ports tally the request headers `upstreamHeaders:` expectations name.
    let upstreamHeaders: RealUpstreamHeaderLedger?
    /// tls-echo: HTTP inside TLS with this context (its Secret's certificate).
    let tls: NIOSSLContext?
    private let channels: NIOLockedValueBox<[any Channel]> = NIOLockedValueBox([])

    init(pod: RealPod, tcpCalls: RealTCPCallLedger, upstreamHeaders: RealUpstreamHeaderLedger? = nil, tls: NIOSSLContext? = nil) {
        self.pod = pod
        self.state = NIOLockedValueBox(pod.app)
        self.tcpCalls = tcpCalls
        self.upstreamHeaders = upstreamHeaders
        self.tls = tls
    }

    func start(group: any EventLoopGroup) async throws {
        try await startUDPEchoes(group: group)
        guard pod.app.listens else { return }
        for port in pod.appPorts {
            let server = self
            let echoesTCP = pod.tcpPorts.contains(port) && pod.app.echoesTCP(port: port)
            let greets = pod.serverFirstPorts.contains(port)
            let tls = tls
            let http2 = pod.app.model == .grpcEcho
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // A raw TCP port (fortio's tcp echo): bytes back as they came.
                        if echoesTCP { return try channel.pipeline.syncOperations.addHandler(RealTCPEchoHandler(server: server, greets: greets)) }
                        // tls-echo: TLS first (plain bytes fail its handshake: the connection closes).
                        if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                        // grpc-echo: HTTP/2 with prior knowledge (h2c), as a gateway dials a gRPC backend.
                        if http2 { return try server.installHTTP2(on: channel.pipeline.syncOperations, port: port) }
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(RealAppHandler(server: server, port: port))
                    }
                }
                .bind(host: pod.ip, port: port)
                .get()
            channels.withLockedValue { $0.append(channel) }
        }
    }

    /// Each HTTP/2 stream is a request to the app, through NIO's HTTP/2-to-HTTP/1 codec.
    func installHTTP2(on operations: ChannelPipeline.SynchronousOperations, port: Int) throws {
        let server = self
        _ = try operations.configureHTTP2Pipeline(mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try stream.pipeline.syncOperations.addHandler(RealAppHandler(server: server, port: port))
            }
        }
    }

    /// A channel to close when the app stops.
    func keep(_ channel: any Channel) {
        channels.withLockedValue { $0.append(channel) }
    }

    /// A restarted container starts from its model's initial state (counters too), as in the simulator.
    func restart(group: any EventLoopGroup) async throws {
        state.withLockedValue { $0 = pod.app }
        try await start(group: group)
    }

    func stop() async {
        let open = channels.withLockedValue { channels in
            defer { channels = [] }
            return channels
        }
        for channel in open { try? await channel.close() }
    }

    /// The request reached the container: the model decides the answer.
    func handle(method: String, path: String, port: Int) -> AppModelInstance.Reply {
        state.withLockedValue { $0.handle(method: method, path: path, port: port) }
    }

    /// bookstore's restock: a POST to bookwarehouse through the pod's own sidecar (fire and forget),
    /// forwarding the purchase's trace headers as the simulator's model (and the demo app) does.
    func restock(joining purchase: HTTPHeaders) {
        let pod = pod
        let host = "bookwarehouse.\(pod.app.warehouseNamespace):14001"
        let trace = purchase.filter { B3Context.propagatedHeaders.contains($0.name.lowercased()) }.map { ($0.name, $0.value) }
        Task {
            _ = try? await MeshHTTP.request(host: pod.ip, port: RealModeRunner.outboundPort, method: .POST, path: "/restock-books",
                                            headers: [("host", host)] + trace, timeout: .seconds(10))
        }
    }
}

/// A raw TCP echo port: every `RealTCPConnection.callBytes` bytes are a call the app counts (and
/// notes in the run's ledger); the bytes go back as they came. On a server-first port (`greets`)
/// the app speaks first: `RealTCPConnection.greeting` as soon as the connection is accepted.
private final class RealTCPEchoHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: RealAppServer
    private let greets: Bool
    private var pending: [UInt8] = []

    init(server: RealAppServer, greets: Bool) {
        self.server = server
        self.greets = greets
    }

    func channelActive(context: ChannelHandlerContext) {
        if greets { context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: RealTCPConnection.greeting)), promise: nil) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending += unwrapInboundIn(data).readableBytesView
        while pending.count >= RealTCPConnection.callBytes {
            let call = String(decoding: pending.prefix(RealTCPConnection.callBytes), as: UTF8.self)
            pending.removeFirst(RealTCPConnection.callBytes)
            server.state.withLockedValue { $0.receivedTCPCall() }
            server.tcpCalls.served(call, by: server.pod.deployment)
        }
        context.writeAndFlush(data, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}

private final class RealAppHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: RealAppServer
    private let port: Int
    private var head: HTTPRequestHead?

    init(server: RealAppServer, port: Int) {
        self.server = server
        self.port = port
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            server.upstreamHeaders?.received(head)
            let reply = server.handle(method: head.method.rawValue, path: head.uri, port: port)
            let app = server.pod.app
            let appBody = reply.normalBody && app.answersBody ? app.body : nil
            let text = appBody ?? "\(reply.status)\n"
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "text/plain")
            // The model's own headers (grpc-echo's trailers-only status), as the simulator's app adds them.
            for header in app.responseHeaders { headers.replaceOrAdd(name: header.name, value: header.value) }
            headers.add(name: "content-length", value: String(text.utf8.count))
            headers.add(name: "Identity", value: app.identity)
            headers.add(name: RealAppHeaders.deployment, value: server.pod.deployment)
            if appBody != nil { headers.add(name: RealAppHeaders.appBody, value: "1") }
            let keepAlive = head.isKeepAlive
            if !keepAlive { headers.add(name: "connection", value: "close") }
            let response = HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: reply.status), headers: headers)
            let channel = context.channel
            let send: @Sendable () -> Void = {
                channel.write(HTTPServerResponsePart.head(response), promise: nil)
                channel.write(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(string: text))), promise: nil)
                channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
                    if !keepAlive { channel.close(promise: nil) }
                }
            }
            if reply.delayNanoseconds > 0 {
                context.eventLoop.scheduleTask(in: .nanoseconds(reply.delayNanoseconds), send)
            } else {
                send()
            }
            if reply.restock { server.restock(joining: head.headers) }
        }
    }
}
