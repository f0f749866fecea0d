import NIOCore
import NIOHTTP1

/// The admin listener: `/ready`, `/stats`, `/stats/prometheus`, `/config_dump` (GET only).
final class AdminHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let driver: SidecarDriver
    private var request: NIOHTTP1.HTTPRequestHead?

    init(driver: SidecarDriver) {
        self.driver = driver
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end:
            guard let head = request else { return }
            request = nil
            let (status, contentType, body) = answer(head)
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: contentType)
            headers.add(name: "content-length", value: String(body.utf8.count))
            headers.add(name: "connection", value: head.isKeepAlive ? "keep-alive" : "close")
            context.write(wrapOutboundOut(.head(NIOHTTP1.HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            let keepAlive = head.isKeepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }

    private func answer(_ head: NIOHTTP1.HTTPRequestHead) -> (HTTPResponseStatus, String, String) {
        guard head.method == .GET else { return (.methodNotAllowed, "text/plain", "only GET\n") }
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch path {
        case "/ready":
            guard driver.isReady else { return (.serviceUnavailable, "text/plain", "no config applied\n") }
            // Ready either way: a sidecar serving its cached config is what keeps the pod up while
            // the controller is away; /stats says `runtime.config_stale: 1`.
            return (.ok, "text/plain", driver.isStale ? "ready (stale: serving the cached config until the controller answers)\n" : "ready\n")
        case "/stats":
            return (.ok, "text/plain", driver.statsText())
        case "/stats/prometheus":
            return (.ok, SidecarMetrics.contentType, driver.prometheusText())
        case "/config_dump":
            guard let dump = driver.configDump() else { return (.serviceUnavailable, "text/plain", "no config applied\n") }
            return (.ok, "application/json", dump + "\n")
        default:
            return (.notFound, "text/plain", "unknown admin path\n")
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
