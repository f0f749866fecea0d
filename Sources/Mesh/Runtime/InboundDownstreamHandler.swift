import Logging
import MeshModel
import MeshProxy
import NIOCore
import NIOHTTP1
import NIOPosix

/// A peer sidecar's connection to the inbound listener. The engine decides on the connection
/// (at its first request, when the target port is known from `x-fsm-target-port`) and on each
/// request; forwarded requests go to the local app over one keep-alive connection per
/// downstream connection, and the app's response streams back.
final class InboundDownstreamHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let driver: SidecarDriver
    let connectionID: ConnectionID
    private var context: ChannelHandlerContext?
    var accepted = false
    private var head: NIOHTTP1.HTTPRequestHead?
    private var body: ByteBuffer?
    private var bodyTooLarge = false
    /// A request is being answered (counted for the drain on shutdown).
    private var busy = false {
        didSet { if busy != oldValue { driver.requestsInProgress += busy ? 1 : -1 } }
    }
    /// Local answers and streamed responses, keep-alive or close.
    private let responder = DownstreamResponder()
    private var app: AppLink?

    private let handlers: HTTPServerHandlers

    init(driver: SidecarDriver, handlers: HTTPServerHandlers) {
        self.driver = driver
        self.handlers = handlers
        self.connectionID = driver.newConnectionID()
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    var source: MeshProxy.SocketAddress {
        let remote = context?.channel.remoteAddress
        return MeshProxy.SocketAddress(ip: remote?.ipAddress ?? "", port: remote?.port ?? 0)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = nil
            bodyTooLarge = false
            responder.requestStarted(head)
        case .body(var part):
            guard !bodyTooLarge else { return }
            if (body?.readableBytes ?? 0) + part.readableBytes > driver.settings.maxBufferedRequestBody {
                bodyTooLarge = true
                body = nil
            } else if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
        case .end:
            guard var head else { return }
            self.head = nil
            if head.method == .CONNECT {
                // A peer's raw TCP tunnel; only as the first thing on a connection.
                guard !accepted else { context.close(promise: nil); return }
                _ = driver.inboundTunnel(authority: head.uri, peerIdentity: peerIdentity(context, head), connection: connectionID,
                                         source: source, from: context, handlers: handlers, handler: self)
                return
            }
            if bodyTooLarge {
                driver.count(.requestBodyTooLarge)
                respondLocally(MeshProxy.HTTPResponseHead(status: 413))
                return
            }
            let port = head.headers.first(name: MeshHeaders.targetPort).flatMap { Int($0) } ?? 0
            let identity = peerIdentity(context, head)
            peerLabels = WorkloadLabels(peerIdentity: identity, kind: head.headers.first(name: MeshHeaders.statsKind),
                                        name: head.headers.first(name: MeshHeaders.statsName), pod: head.headers.first(name: MeshHeaders.statsPod),
                                        namespace: head.headers.first(name: MeshHeaders.statsNamespace))
            head.headers.remove(name: MeshHeaders.targetPort)
            head.headers.remove(name: MeshHeaders.sourceIdentity)
            for name in [MeshHeaders.statsKind, MeshHeaders.statsName, MeshHeaders.statsPod, MeshHeaders.statsNamespace] { head.headers.remove(name: name) }
            busy = true
            driver.inboundRequest(on: self, head: head, body: body, port: port, peerIdentity: identity)
            body = nil
        }
    }

    /// The metric labels of the current request's client workload.
    var peerLabels = WorkloadLabels.unknown

    /// Under mTLS, the peer's identity looked up once per connection (its certificate cannot change).
    private var certificateIdentity: String??

    private func peerIdentity(_ context: ChannelHandlerContext, _ head: NIOHTTP1.HTTPRequestHead) -> String? {
        if case .insecurePlaintext = driver.settings.peerTransport {
            return driver.peerIdentity(channel: context.channel, header: head.headers.first(name: MeshHeaders.sourceIdentity))
        }
        if let certificateIdentity { return certificateIdentity }
        let identity = driver.peerIdentity(channel: context.channel, header: nil)
        certificateIdentity = .some(identity)
        return identity
    }

    func channelInactive(context: ChannelHandlerContext) {
        busy = false
        responder.resumeSource()
        app?.close()
        app = nil
        if accepted { driver.inboundConnectionClosed(connectionID) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError {
            driver.count(.badRequest)
            driver.logger.info("malformed request on inbound listener", metadata: ["error": "\(error)"])
            if !responder.responding {
                responder.closeAfterResponse()
                respondLocally(MeshProxy.HTTPResponseHead(status: 400))
                return
            }
        }
        context.close(promise: nil)
    }

    func closeConnection() {
        context?.close(promise: nil)
    }

    // MARK: Forwarding to the app

    func forward(to endpoint: MeshProxy.SocketAddress, head: NIOHTTP1.HTTPRequestHead, body: ByteBuffer?, port: Int) {
        if let app, app.endpoint != driver.localAppAddress(endpoint) || app.isClosed {
            app.close()
            self.app = nil
        }
        let link = app ?? AppLink(endpoint: driver.localAppAddress(endpoint), driver: driver, owner: self)
        app = link
        var head = head
        for name in MeshHeaders.hopByHop { head.headers.remove(name: name) }
        head.headers.add(name: "content-length", value: String(body?.readableBytes ?? 0))
        head.headers.add(name: "connection", value: "keep-alive")
        link.send(head: head, body: body, port: port)
    }

    /// The app could not be reached: the sidecar answers 503 itself.
    func appUnreachable(port: Int) {
        driver.count(.appConnectFailed)
        driver.metrics.recordRequest(source: peerLabels, destination: driver.workloadLabels, status: 503, milliseconds: 0)
        app = nil
        respondLocally(MeshProxy.HTTPResponseHead(status: 503))
    }

    /// The app reset the connection before answering: the peer sees the reset too.
    func appReset() {
        app = nil
        context?.close(promise: nil)
    }

    // MARK: Answers

    func respondLocally(_ engineHead: MeshProxy.HTTPResponseHead) {
        guard let context else { return }
        if responder.respondLocally(engineHead, draining: driver.isDraining, context: context) { busy = false }
    }

    func startResponse(_ upstreamHead: NIOHTTP1.HTTPResponseHead) {
        guard let context else { return }
        responder.startStream(upstreamHead, draining: driver.isDraining, context: context)
    }

    func streamBody(_ part: ByteBuffer, from source: any Channel) {
        guard let context else { return }
        responder.streamBody(part, from: source, context: context)
    }

    func finishResponse() {
        if responder.finishStream(context: context) { busy = false }
    }

    func abortResponse() {
        responder.abortStream(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { responder.resumeSource() }
        context.fireChannelWritabilityChanged()
    }
}

/// The connection from the inbound side to the local app (one request at a time).
final class AppLink: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let endpoint: MeshProxy.SocketAddress
    private let driver: SidecarDriver
    private weak var owner: InboundDownstreamHandler?
    private var channel: (any Channel)?
    private var connecting = false
    private var unsent: (NIOHTTP1.HTTPRequestHead, ByteBuffer?)?
    /// The port of the request in flight and when it was sent; nil when idle.
    private var inFlight: (port: Int, sentAt: NIODeadline, gotHead: Bool)?
    private(set) var isClosed = false

    init(endpoint: MeshProxy.SocketAddress, driver: SidecarDriver, owner: InboundDownstreamHandler) {
        self.endpoint = endpoint
        self.driver = driver
        self.owner = owner
    }

    func send(head: NIOHTTP1.HTTPRequestHead, body: ByteBuffer?, port: Int) {
        inFlight = (port, .now(), false)
        if let channel {
            write(head, body, on: channel)
            return
        }
        unsent = (head, body)
        guard !connecting else { return }
        connecting = true
        let link = self
        ClientBootstrap(group: driver.eventLoop)
            .connectTimeout(.seconds(5))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .dropBytes)
                    try channel.pipeline.syncOperations.addHandler(link)
                }
            }
            .connect(host: endpoint.ip, port: endpoint.port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    link.connecting = false
                    guard !link.isClosed else { channel.close(promise: nil); return }
                    link.channel = channel
                    if let (head, body) = link.unsent {
                        link.unsent = nil
                        link.write(head, body, on: channel)
                    }
                case .failure:
                    link.connecting = false
                    link.isClosed = true
                    let port = link.inFlight?.port ?? 0
                    link.inFlight = nil
                    link.owner?.appUnreachable(port: port)
                }
            }
    }

    private func write(_ head: NIOHTTP1.HTTPRequestHead, _ body: ByteBuffer?, on channel: any Channel) {
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body, body.readableBytes > 0 { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    func close() {
        isClosed = true
        owner = nil
        channel?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard head.status.code >= 200, let request = inFlight else { return }
            inFlight?.gotHead = true
            let latency = MeshDuration(nanoseconds: Int64(NIODeadline.now().uptimeNanoseconds &- request.sentAt.uptimeNanoseconds))
            driver.inboundAppResponded(port: request.port, status: Int(head.status.code), latency: latency, peer: owner?.peerLabels ?? .unknown)
            owner?.startResponse(head)
        case .body(let part):
            owner?.streamBody(part, from: context.channel)
        case .end:
            inFlight = nil
            owner?.finishResponse()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        if let request = inFlight {
            inFlight = nil
            if request.gotHead { owner?.abortResponse() } else { owner?.appReset() }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

// MARK: - Engine calls of the inbound side

extension SidecarDriver {
    func inboundRequest(on handler: InboundDownstreamHandler, head: NIOHTTP1.HTTPRequestHead, body: ByteBuffer?, port: Int, peerIdentity: String?) {
        let start = NIODeadline.now()
        if !handler.accepted {
            switch engine.inboundConnection(handler.connectionID, port: port, source: handler.source, peerIdentity: peerIdentity, now: now()) {
            case .accept:
                handler.accepted = true
            case .close(let reason):
                logger.debug("inbound connection refused", metadata: ["reason": "\(reason.rawValue)", "port": "\(port)"])
                handler.closeConnection()
                return
            }
        }
        var headers: [MeshProxy.HTTPHeader] = []
        headers.reserveCapacity(head.headers.count)
        for (name, value) in head.headers { headers.append(MeshProxy.HTTPHeader(name: name, value: value)) }
        let engineHead = MeshProxy.HTTPRequestHead(method: head.method.rawValue, path: head.uri, authority: head.headers.first(name: "host") ?? "", headers: headers)
        switch engine.inboundRequest(engineHead, connection: handler.connectionID, port: port, peerIdentity: peerIdentity, now: now()) {
        case let .respond(response, reason):
            metrics.recordRequest(source: handler.peerLabels, destination: workloadLabels, status: response.status, milliseconds: milliseconds(since: start))
            logger.debug("inbound request answered locally", metadata: ["reason": "\(reason.rawValue)", "status": "\(response.status)"])
            handler.respondLocally(response)
        case let .forward(_, endpoint):
            handler.forward(to: endpoint, head: head, body: body, port: port)
        }
    }

    /// Local clusters name the app as `127.0.0.1:port` (its pod's loopback). In local mode the pods
    /// share the machine's loopback, so the pod's loopback is its own pod IP.
    func localAppAddress(_ endpoint: MeshProxy.SocketAddress) -> MeshProxy.SocketAddress {
        guard endpoint.ip == "127.0.0.1" || endpoint.ip == "localhost" else { return endpoint }
        return MeshProxy.SocketAddress(ip: settings.podIP, port: endpoint.port)
    }

    func inboundAppResponded(port: Int, status: Int, latency: MeshDuration, peer: WorkloadLabels) {
        engine.inboundResponse(port: port, status: status, latency: latency)
        metrics.recordRequest(source: peer, destination: workloadLabels, status: status, milliseconds: latency.milliseconds)
    }

    func inboundConnectionClosed(_ id: ConnectionID) {
        engine.inboundConnectionClosed(id)
    }
}
