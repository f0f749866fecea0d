import MeshModel
import MeshProxy
import NIOCore
import NIOHTTP1
import NIOPosix

/// A rewritten health probe on 15901-15903 (HTTP) or 15904 (`/fsm-healthcheck`): `ProbeResponder`
/// decides, this handler carries it out: a `GET` to the app's original probe endpoint on the pod's
/// loopback, or a connection to a `tcpSocket` probe's port, each within the probe's timeout.
final class ProbeHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let driver: SidecarDriver
    private let responder: ProbeResponder
    private let port: Int
    private let timeouts: DownstreamTimeoutHandler?
    /// The head of the request being answered, until its answer went out.
    private var pending: NIOHTTP1.HTTPRequestHead?
    private var closing = false

    init(driver: SidecarDriver, responder: ProbeResponder, port: Int, handlers: HTTPServerHandlers?) {
        self.driver = driver
        self.responder = responder
        self.port = port
        self.timeouts = handlers?.timeouts
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        timeouts?.headReceived()
        if let rejection = RequestHeadCheck.check(head, hostUse: .informs) {
            driver.countRejected(rejection, listener: .probe, detail: "host")
            reply(ProbeResponder.Answer(status: rejection.status, body: rejection.reason), keepAlive: false, context: context)
            return
        }
        pending = head
        let action = responder.request(port: port, method: head.method.rawValue, path: head.uri,
                                       originalTCPPort: head.headers[canonicalForm: SidecarProbe.originalTCPPortHeader].map(String.init))
        let keepAlive = head.isKeepAlive && !AdminHandler.hasBody(head)
        switch action {
        case .respond(let answer):
            reply(answer, keepAlive: keepAlive, context: context)
        case .forward(let appPort, let path, let timeout):
            let app = driver.localAppAddress(MeshProxy.SocketAddress(ip: "127.0.0.1", port: appPort))
            ProbeForwarder.get(app: app, path: path, head: head, timeout: TimeAmount.nanoseconds(timeout.nanoseconds), on: context.eventLoop)
                .assumeIsolated().whenSuccess { [self] outcome in
                    if case .answered = outcome {} else { driver.count(.probeFailed) }
                    reply(responder.forwarded(outcome, port: appPort), keepAlive: keepAlive, context: context)
                }
        case .connect(let appPort, let timeout):
            let app = driver.localAppAddress(MeshProxy.SocketAddress(ip: "127.0.0.1", port: appPort))
            ProbeForwarder.connect(app: app, timeout: TimeAmount.nanoseconds(timeout.nanoseconds), on: context.eventLoop)
                .assumeIsolated().whenSuccess { [self] accepted in
                    if !accepted { driver.count(.probeFailed) }
                    reply(responder.connected(accepted, port: appPort), keepAlive: keepAlive, context: context)
                }
        }
    }

    private func reply(_ answer: ProbeResponder.Answer, keepAlive: Bool, context: ChannelHandlerContext) {
        guard context.channel.isActive, !closing else { return }
        let method = pending?.method
        pending = nil
        closing = LocalReply.write(HTTPResponseStatus(statusCode: answer.status), contentType: answer.contentType, body: answer.body,
                                   keepAlive: keepAlive, includeBody: method != .HEAD, timeouts: timeouts, context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !closing else {
            context.close(promise: nil)
            return
        }
        let rejection = RequestHeadCheck.rejection(for: parserError)
        driver.countRejected(rejection, listener: .probe, detail: "\(parserError)")
        reply(ProbeResponder.Answer(status: rejection.status, body: rejection.reason), keepAlive: false, context: context)
    }
}

/// The sidecar's side of a probe towards the app: one `GET` on a fresh connection, or a bare
/// connect, each ended by its deadline.
enum ProbeForwarder {
    /// Request headers the probe passes on to the app (the kubelet's `httpHeaders` among them):
    /// all but these, which describe the connection to the sidecar.
    static let droppedHeaders: Set<String> = ["host", "connection", "keep-alive", "content-length", "transfer-encoding", "te", "upgrade"]

    static func get(app: MeshProxy.SocketAddress, path: String, head: NIOHTTP1.HTTPRequestHead, timeout: TimeAmount,
                    on loop: any EventLoop) -> EventLoopFuture<ProbeResponder.ForwardOutcome> {
        let promise = loop.makePromise(of: ProbeResponder.ForwardOutcome.self)
        let collector = ProbeResponseCollector(promise: promise)
        let timer = loop.scheduleTask(in: timeout) { collector.timedOut() }
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: app.ip, port: app.port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    var request = NIOHTTP1.HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
                    request.headers.add(name: "host", value: "\(app.ip):\(app.port)")
                    for header in head.headers where !droppedHeaders.contains(header.name.lowercased()) {
                        request.headers.add(name: header.name, value: header.value)
                    }
                    request.headers.add(name: "connection", value: "close")
                    channel.write(HTTPClientRequestPart.head(request), promise: nil)
                    channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                case .failure(let error):
                    collector.finish(.connectFailed(ProbeForwarder.words(error)))
                }
            }
        return promise.futureResult.always { _ in timer.cancel() }
    }

    static func connect(app: MeshProxy.SocketAddress, timeout: TimeAmount, on loop: any EventLoop) -> EventLoopFuture<Bool> {
        ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .connect(host: app.ip, port: app.port)
            .map { channel in
                channel.close(promise: nil)
                return true
            }
            .recover { _ in false }
    }

    static func words(_ error: any Error) -> String {
        if let error = error as? IOError { return "\(error.description)" }
        if error is ChannelError { return "connection failed (\(error))" }
        return "\(error)"
    }
}

/// Collects the app's answer to a forwarded probe (status, content type, at most
/// `ProbeResponder.maxBody` of its body); the first outcome wins.
final class ProbeResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<ProbeResponder.ForwardOutcome>
    private var status = 0
    private var contentType: String?
    private var body = ""
    private var done = false
    private var channel: (any Channel)?

    init(promise: EventLoopPromise<ProbeResponder.ForwardOutcome>) {
        self.promise = promise
    }

    func handlerAdded(context: ChannelHandlerContext) { channel = context.channel }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard head.status.code >= 200 else { return }
            status = Int(head.status.code)
            contentType = head.headers.first(name: "content-type")
        case .body(let buffer):
            if body.utf8.count < ProbeResponder.maxBody { body += String(buffer: buffer) }
        case .end:
            guard status != 0 else { return }
            finish(.answered(status: status, contentType: contentType, body: body))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(status != 0 ? .answered(status: status, contentType: contentType, body: body) : .connectFailed("the app closed the connection without an answer"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.connectFailed(ProbeForwarder.words(error)))
        context.close(promise: nil)
    }

    func timedOut() { finish(.timedOut) }

    func finish(_ outcome: ProbeResponder.ForwardOutcome) {
        guard !done else { return }
        done = true
        promise.succeed(outcome)
        channel?.close(promise: nil)
    }
}
