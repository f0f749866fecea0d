import NIOCore
import NIOHTTP1

/// The admin listener (loopback: `/ready`, `/stats`, `/stats/prometheus`, `/config_dump`) and the
/// Prometheus listener (the pod address: `/stats/prometheus` only). GET only; a request is
/// answered as soon as its head arrives (no page reads a body; a request that sends one is
/// answered and the connection closed instead of reading it). Malformed requests and bad Host
/// headers get 400 (431 for headers past the decoder's limit) with a line saying why, counted
/// like the data path's; the connection closes after them.
final class AdminHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let driver: SidecarDriver
    private let listener: ListenerKind
    private let timeouts: DownstreamTimeoutHandler?
    /// A response that closes the connection went out: nothing more is read.
    private var closing = false
    /// Another process's pages (the gateway's admin port) in place of the sidecar's: the answer
    /// to a GET of a path (without its query).
    typealias Pages = (String) -> (HTTPResponseStatus, String, String)
    private let pages: Pages?

    init(driver: SidecarDriver, listener: ListenerKind, handlers: HTTPServerHandlers?, pages: Pages? = nil) {
        self.driver = driver
        self.listener = listener
        self.timeouts = handlers?.timeouts
        self.pages = pages
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            timeouts?.headReceived()
            if let rejection = RequestHeadCheck.check(head, hostUse: .informs) {
                driver.countRejected(rejection, listener: listener, detail: "host")
                reply(HTTPResponseStatus(statusCode: rejection.status), "text/plain", rejection.reason, keepAlive: false, context: context)
                return
            }
            let (status, contentType, body) = answer(head)
            reply(status, contentType, body, keepAlive: head.isKeepAlive && !AdminHandler.hasBody(head), context: context)
        case .body, .end:
            // Answered at the head.
            break
        }
    }

    private func reply(_ status: HTTPResponseStatus, _ contentType: String, _ body: String, keepAlive: Bool, context: ChannelHandlerContext) {
        closing = LocalReply.write(status, contentType: contentType, body: body, keepAlive: keepAlive, timeouts: timeouts, context: context)
    }

    /// A content-length other than 0, or a transfer-encoding: a body follows the head.
    static func hasBody(_ head: NIOHTTP1.HTTPRequestHead) -> Bool {
        if head.headers.contains(name: "transfer-encoding") { return true }
        return head.headers.first(name: "content-length").map { $0 != "0" } ?? false
    }

    private func answer(_ head: NIOHTTP1.HTTPRequestHead) -> (HTTPResponseStatus, String, String) {
        guard head.method == .GET else { return (.methodNotAllowed, "text/plain", "only GET\n") }
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        if let pages { return pages(path) }
        if listener == .prometheus {
            guard path == "/stats/prometheus" else { return (.notFound, "text/plain", "only /stats/prometheus is served here\n") }
            return (.ok, SidecarMetrics.contentType, driver.prometheusText())
        }
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
        guard let parserError = error as? HTTPParserError, !closing else {
            context.close(promise: nil)
            return
        }
        let rejection = RequestHeadCheck.rejection(for: parserError)
        driver.countRejected(rejection, listener: listener, detail: "\(parserError)")
        reply(HTTPResponseStatus(statusCode: rejection.status), "text/plain", rejection.reason, keepAlive: false, context: context)
    }
}
