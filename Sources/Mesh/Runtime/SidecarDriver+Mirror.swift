import Logging
import MeshProxy
import NIOCore
import NIOHTTP1

extension SidecarDriver {
    /// A gateway's RequestMirror: the request as the engine gives it (`head`, with the client's
    /// body when it has arrived whole and was kept) goes to `endpoint` on a connection of its own;
    /// the answer is read and dropped, a failure only counted. The mirror never delays or changes
    /// the client's exchange. A body still streaming or past the replay limit is not copied: the
    /// mirror is not sent (counted as `runtime.gateway_mirror_skipped`).
    func mirror(_ id: ExchangeID, cluster: String, endpoint: MeshProxy.SocketAddress, head: MeshProxy.HTTPRequestHead) {
        let body = exchanges[id.rawValue]?.body
        if let body, body.completeCopy == nil {
            count(.gatewayMirrorSkipped)
            return
        }
        let bytes = body?.completeCopy
        var headers = HTTPHeaders([("host", head.authority)])
        for header in head.headers where !MeshHeaders.isStrippedFromAppRequest(header.name) && header.name.lowercased() != "host" {
            headers.add(name: header.name, value: header.value)
        }
        headers.add(name: "content-length", value: String(bytes?.readableBytes ?? 0))
        headers.add(name: "connection", value: "close")
        if settings.capturesLocally(endpoint) { headers.add(name: MeshHeaders.targetPort, value: String(endpoint.port)) }
        let request = NIOHTTP1.HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: head.method), uri: head.path, headers: headers)
        mirrorsInProgress += 1
        connect(host: endpoint.ip, port: settings.capturesLocally(endpoint) ? settings.inboundPort : endpoint.port, timeout: Self.mirrorTimeout, cluster: cluster) { channel in
            try channel.pipeline.syncOperations.addHTTPClientHandlers()
            try channel.pipeline.syncOperations.addHandler(MirrorSender(request: request, body: bytes))
        }.whenComplete { [self] result in
            switch result {
            case .success(let channel):
                // The answer is not awaited beyond this: a mirror that hangs is closed.
                channel.eventLoop.scheduleTask(in: Self.mirrorTimeout) { channel.close(promise: nil) }
                channel.closeFuture.whenComplete { [self] _ in mirrorsInProgress -= 1 }
            case .failure(let error):
                mirrorsInProgress -= 1
                count(.gatewayMirrorFailed)
                logger.debug("gateway mirror cannot reach its endpoint", metadata: ["cluster": "\(cluster)", "endpoint": "\(endpoint)", "error": "\(error)"])
            }
        }
    }

    /// How long a mirror connection may live (connect, send, read the answer and drop it).
    static let mirrorTimeout: TimeAmount = .seconds(10)
}

/// Writes one request when connected and closes after its answer (which it drops).
final class MirrorSender: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    private let request: NIOHTTP1.HTTPRequestHead
    private let body: ByteBuffer?

    init(request: NIOHTTP1.HTTPRequestHead, body: ByteBuffer?) {
        self.request = request
        self.body = body
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(request)), promise: nil)
        if let body, body.readableBytes > 0 { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
