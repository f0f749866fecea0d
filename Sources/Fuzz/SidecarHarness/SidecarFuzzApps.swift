import NIOCore
import NIOHTTP1
import NIOHTTP2

/// The bookstore app behind the server sidecar, as the harness plays it: every request gets 200
/// and `ok` when it ends, `/status/NNN` gets NNN (as httpbin does; 200 to 599), and a gRPC request
/// (`content-type: application/grpc...`) an empty message with `grpc-status: 0`.
final class CannedApp: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        if head.headers.first(name: "content-type")?.lowercased().hasPrefix("application/grpc") == true {
            headers.add(name: "content-type", value: "application/grpc")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: [0, 0, 0, 0, 0])))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(["grpc-status": "0"])), promise: nil)
            return
        }
        headers.add(name: "content-length", value: "2")
        let response = HTTPResponseHead(version: head.version, status: .init(statusCode: Self.status(path: head.uri)), headers: headers)
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    static func status(path: String) -> Int {
        guard path.hasPrefix("/status/"), let code = Int(path.dropFirst("/status/".count).prefix(3)), (200...599).contains(code) else { return 200 }
        return code
    }
}

/// A TCP app that sends back what it receives.
final class EchoApp: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}

/// An app that answers its first bytes with a fixed script (the fuzz input's) and nothing more:
/// whatever an app may send back, malformed, early, late or too much.
final class ScriptedApp: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var script: [UInt8]?

    init(script: [UInt8]) {
        self.script = script
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let script else { return }
        self.script = nil
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: script)), promise: nil)
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// What the harness's app puts on a connection to `port`: the script if there is one, else the
    /// canned app over HTTP/1.1 (HTTP port), HTTP/2 (gRPC port), or an echo (any other port).
    func addFuzzApp(port: Int, script: [UInt8]?) throws {
        if let script { return try addHandler(ScriptedApp(script: script)) }
        switch port {
        case SidecarFuzzMesh.httpPort:
            try configureHTTPServerPipeline(withErrorHandling: true)
            try addHandler(CannedApp())
        case SidecarFuzzMesh.grpcPort:
            _ = try configureHTTP2Pipeline(mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()) { stream in
                stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                    try stream.pipeline.syncOperations.addHandler(CannedApp())
                }
            }
        default:
            try addHandler(EchoApp())
        }
    }
}
