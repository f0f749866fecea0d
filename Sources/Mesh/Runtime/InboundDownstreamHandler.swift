import Logging
import MeshModel
import MeshProxy
import NIOCore
import NIOHTTP1
import NIOPosix

/// A peer sidecar's connection to the inbound listener, or one HTTP/2 stream of it (then the
/// engine sees each stream as a connection of its own, and `handlers` is nil). The engine decides on the connection
/// (at its first request, when the target port is known from `x-fsm-target-port`) and on each
/// request; forwarded requests go to the local app over one keep-alive connection per
/// downstream connection, and the app's response streams back.
final class InboundDownstreamHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let driver: SidecarDriver
    let connectionID: ConnectionID
    var accepted = false
    /// Head checks, intake, answers and deadlines, shared with the outbound listener.
    private let side: DownstreamRequestSide
    private var app: AppLink?
    /// The app's HTTP/2 stream for the request in flight (ports whose protocol is gRPC).
    private var appStream: AppStream?

    init(driver: SidecarDriver, handlers: HTTPServerHandlers?) {
        self.driver = driver
        // Nothing retries inbound: the replay limit only bounds what waits while the app is connected.
        self.side = DownstreamRequestSide(driver: driver, listener: .inbound, handlers: handlers)
        self.connectionID = driver.newConnectionID()
    }

    /// Under capture: where the peer's connection was going before the redirect.
    var originalDestination: MeshProxy.SocketAddress? { side.originalDestination }

    func handlerAdded(context: ChannelHandlerContext) { side.added(context) }

    func channelActive(context: ChannelHandlerContext) {
        side.active(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { side.removed() }

    var source: MeshProxy.SocketAddress {
        let remote = side.context?.channel.remoteAddress
        return MeshProxy.SocketAddress(ip: remote?.ipAddress ?? "", port: remote?.port ?? 0)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        take(side.read(unwrapInboundIn(data), context: context), context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        take(side.readComplete(context: context), context: context)
        context.fireChannelReadComplete()
    }

    private func take(_ step: RequestIntake.Step, context: ChannelHandlerContext) {
        switch step {
        case .none, .bodyNotReplayable:
            // Nothing retries inbound: a body past the replay limit just streams on.
            break
        case .tunnel(let head):
            // A peer's raw TCP tunnel; only as the first thing on an HTTP/1.1 connection.
            guard !accepted, let handlers = side.handlers else { context.close(promise: nil); return }
            _ = driver.inboundTunnel(authority: head.uri, peerIdentity: peerIdentity(context, head), connection: connectionID,
                                     source: source, from: context, handlers: handlers, handler: self)
        case .start(var head, let body):
            // Under capture the port the peer dialled; otherwise the peer names it.
            let port = originalDestination?.port ?? head.headers.first(name: MeshHeaders.targetPort).flatMap { Int($0) } ?? 0
            let identity = peerIdentity(context, head)
            peerLabels = WorkloadLabels(peerIdentity: identity, kind: head.headers.first(name: MeshHeaders.statsKind),
                                        name: head.headers.first(name: MeshHeaders.statsName), pod: head.headers.first(name: MeshHeaders.statsPod),
                                        namespace: head.headers.first(name: MeshHeaders.statsNamespace))
            head.headers.remove(name: MeshHeaders.targetPort)
            head.headers.remove(name: MeshHeaders.sourceIdentity)
            for name in [MeshHeaders.statsKind, MeshHeaders.statsName, MeshHeaders.statsPod, MeshHeaders.statsNamespace] { head.headers.remove(name: name) }
            side.started()
            driver.inboundRequest(on: self, head: head, body: body, port: port, peerIdentity: identity)
        }
    }

    /// The metric labels of the current request's client workload.
    var peerLabels = WorkloadLabels.unknown
    /// The access-log entry of the request forwarded to the app, written when its response ends.
    var pendingLog: PendingAccessLog?

    /// Writes the entry in progress (if any) with `status` and `flags` added.
    private func writeLog(status: Int? = nil, flags: ResponseFlags = []) {
        guard var log = pendingLog else { return }
        pendingLog = nil
        if let status { log.entry.status = status }
        log.entry.flags.formUnion(flags)
        driver.writeAccessLog(log)
    }

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
        side.connectionClosed()
        app?.close()
        app = nil
        appStream?.cancel()
        appStream = nil
        writeLog(flags: .downstreamConnectionTermination)
        if accepted { driver.inboundConnectionClosed(connectionID) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        side.error(error, context: context, answering: false)
    }

    func closeConnection() {
        side.context?.close(promise: nil)
    }

    // MARK: Forwarding to the app

    /// `http2`: the engine says the port speaks gRPC, so the app gets h2c.
    func forward(to endpoint: MeshProxy.SocketAddress, head: NIOHTTP1.HTTPRequestHead, body: RequestBody?, port: Int, http2: Bool) {
        if http2 {
            forwardOverHTTP2(to: driver.localAppAddress(endpoint), head: head, body: body, port: port)
            return
        }
        if let app, app.endpoint != driver.localAppAddress(endpoint) || app.isClosed {
            app.close()
            self.app = nil
        }
        let link = app ?? AppLink(endpoint: driver.localAppAddress(endpoint), driver: driver, owner: self)
        app = link
        var head = head
        let wantsTrailers = GRPCLocalReply.isGRPC(contentType: head.headers.first(name: "content-type"))
        let appHead = head
        // Room for content-length, te and connection.
        head.headers = MeshHeaders.kept(head.headers, droppingWhere: MeshHeaders.isHopByHop, room: 3)
        SidecarDriver.frame(&head.headers, body: body, appHead: appHead)
        // gRPC servers want `te: trailers` (the one hop-by-hop value HTTP/2 allows).
        if wantsTrailers { head.headers.add(name: "te", value: "trailers") }
        head.headers.add(name: "connection", value: "keep-alive")
        link.send(head: head, body: body, port: port)
    }

    /// The app could not be reached: the engine's answer (503) goes to the peer.
    func appUnreachable(port: Int) {
        driver.count(.appConnectFailed)
        // A connect failure answers 503 (`UF`) and says so at warning, with the app and the peer.
        driver.logger.warning("local app unreachable", metadata: [
            "port": "\(port)", "peer": "\((certificateIdentity ?? nil) ?? side.context?.channel.remoteAddress?.description ?? "?")",
            "app": "\(app?.endpoint.description ?? "?")",
        ])
        let answer = driver.inboundAppUnreachable(port: port)
        driver.metrics.recordRequest(source: peerLabels, destination: driver.workloadLabels, status: answer.status, milliseconds: 0)
        app = nil
        appStream = nil
        pendingLog?.entry.bytesSent = answer.body?.utf8.count ?? 0
        writeLog(status: answer.status, flags: .upstreamConnectionFailure)
        respondLocally(answer)
    }

    func replaceAppStream(_ stream: AppStream) {
        appStream?.cancel()
        appStream = stream
    }

    /// The app reset the connection before answering: the peer sees the reset too.
    func appReset() {
        app = nil
        appStream = nil
        writeLog(status: 0, flags: .upstreamConnectionTermination)
        side.context?.close(promise: nil)
    }

    // MARK: Answers

    func respondLocally(_ engineHead: MeshProxy.HTTPResponseHead) { side.respondLocally(engineHead) }

    func startResponse(_ upstreamHead: NIOHTTP1.HTTPResponseHead) {
        pendingLog?.entry.status = Int(upstreamHead.status.code)
        side.startStream(upstreamHead)
    }

    func streamBody(_ part: ByteBuffer, from source: any Channel) {
        pendingLog?.entry.bytesSent += part.readableBytes
        side.streamBody(part, from: source)
    }

    func finishResponse(trailers: HTTPHeaders?) {
        appStream = nil
        side.finishStream(trailers: trailers)
        writeLog()
    }

    func abortResponse() {
        writeLog(flags: .upstreamConnectionTermination)
        side.abortStream()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        side.writabilityChanged(context)
        context.fireChannelWritabilityChanged()
    }
}

/// The connection from the inbound side to the local app (one request at a time); its state is
/// `AppConnectionState`.
final class AppLink: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    let endpoint: MeshProxy.SocketAddress
    private let driver: SidecarDriver
    private weak var owner: InboundDownstreamHandler?
    private var channel: (any Channel)?
    private var state = AppConnectionState<(NIOHTTP1.HTTPRequestHead, RequestBody?), RequestBody>()
    /// The current connection's request writer (a new one for each connection).
    private var requests = HTTP1RequestWriter()
    var isClosed: Bool { state.isClosed }

    init(endpoint: MeshProxy.SocketAddress, driver: SidecarDriver, owner: InboundDownstreamHandler) {
        self.endpoint = endpoint
        self.driver = driver
        self.owner = owner
    }

    func send(head: NIOHTTP1.HTTPRequestHead, body: RequestBody?, port: Int) {
        switch state.send((head, body), port: port, at: driver.clock.now()) {
        case .write(let request):
            if let channel { write(request.0, request.1, on: channel) }
        case .wait:
            break
        case .connect:
            connect()
        }
    }

    private func connect() {
        let link = self
        driver.connect(host: endpoint.ip, port: endpoint.port, timeout: .seconds(5)) { channel in
            let requests = HTTP1RequestWriter()
            link.requests = requests
            try channel.pipeline.syncOperations.addDataPathHTTPClientHandlers(requests: requests)
            try channel.pipeline.syncOperations.addHandler(link)
        }.whenComplete { result in
            switch result {
            case .success(let channel):
                switch link.state.connected() {
                case .close:
                    channel.close(promise: nil)
                case .none:
                    link.channel = channel
                case .write(let request):
                    link.channel = channel
                    link.write(request.0, request.1, on: channel)
                }
            case .failure:
                guard let port = link.state.connectFailed() else { return }
                link.owner?.appUnreachable(port: port)
            }
        }
    }

    private func write(_ head: NIOHTTP1.HTTPRequestHead, _ body: RequestBody?, on channel: any Channel) {
        var head = head
        if let body, !body.isComplete, !head.headers.contains(name: "content-length") {
            head.headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
        }
        // A head that may not be sent closes the connection (for the peer, the app reset it).
        guard requests.writeHead(head, on: channel) else { return channel.close(promise: nil) }
        guard let body else { return requests.writeEnd(on: channel, flush: true) }
        channel.flush()
        state.bodyStarted(body)
        // Writes what the body holds, then each part as it comes.
        body.attach(self)
    }

    func close() {
        owner = nil
        // Stops taking the request body (cut short if incomplete, which closes the connection).
        state.close()?.detach(self)
        channel?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard case let .respond(port, sentAt) = state.responseHead(status: Int(head.status.code)) else { return }
            let latency = MeshDuration(nanoseconds: driver.clock.nanoseconds(since: sentAt))
            driver.inboundAppResponded(port: port, status: Int(head.status.code), latency: latency, peer: owner?.peerLabels ?? .unknown,
                                       connection: owner?.connectionID)
            owner?.startResponse(head)
        case .body(let part):
            owner?.streamBody(part, from: context.channel)
        case .end(let trailers):
            let release = state.responseEnded()
            owner?.finishResponse(trailers: trailers)
            // Answered before the request body ended: the rest cannot follow on this connection.
            release?.detach(self)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { state.body?.sinkBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let closed = state.channelClosed()
        closed.release?.detach(self)
        switch closed.action {
        case .none: break
        case .abortResponse: owner?.abortResponse()
        case .reset: owner?.appReset()
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension AppLink: RequestBodySink {
    func writeBodyPart(_ part: ByteBuffer) {
        if let channel { requests.writeBody(part, on: channel, flush: true) }
    }

    func writeBodyEnd() {
        state.bodyFinished(abandoned: false)
        if let channel { requests.writeEnd(on: channel, flush: true) }
    }

    func abandonBody() {
        state.bodyFinished(abandoned: true)
        channel?.close(promise: nil)
    }

    var acceptsBody: Bool { channel?.isWritable ?? false }
}

// MARK: - Engine calls of the inbound side

extension SidecarDriver {
    func inboundRequest(on handler: InboundDownstreamHandler, head: NIOHTTP1.HTTPRequestHead, body: RequestBody?, port: Int, peerIdentity: String?) {
        let start = clock.now()
        var log = beginAccessLog(.inbound, head: head, path: head.uri, authority: head.headers.first(name: "host") ?? "", peerIdentity: peerIdentity)
        log?.entry.bytesReceived = body?.receivedBytes ?? 0
        if !handler.accepted {
            let decision = engine.inboundConnection(handler.connectionID, port: port, source: handler.source, peerIdentity: peerIdentity, now: now())
            switch decision {
            case .accept:
                handler.accepted = true
            case .close(let reason):
                logger.debug("inbound connection refused", metadata: ["reason": "\(reason.rawValue)", "port": "\(port)"])
                log?.entry.finish(status: 0, flags: decision.responseFlags)
                writeAccessLog(log)
                handler.closeConnection()
                return
            }
        }
        var headers: [MeshProxy.HTTPHeader] = []
        headers.reserveCapacity(head.headers.count)
        for (name, value) in head.headers { headers.append(MeshProxy.HTTPHeader(name: name, value: value)) }
        let engineHead = MeshProxy.HTTPRequestHead(method: head.method.rawValue, path: head.uri, authority: head.headers.first(name: "host") ?? "", headers: headers)
        let decision = engine.inboundRequest(engineHead, connection: handler.connectionID, port: port, peerIdentity: peerIdentity, now: now())
        switch decision {
        case let .respond(response, reason):
            metrics.recordRequest(source: handler.peerLabels, destination: workloadLabels, status: response.status, milliseconds: milliseconds(since: start))
            logger.debug("inbound request answered locally", metadata: ["reason": "\(reason.rawValue)", "status": "\(response.status)"])
            log?.entry.finish(status: response.status, flags: decision.responseFlags)
            log?.entry.bytesSent = response.body?.utf8.count ?? 0
            writeAccessLog(log)
            handler.respondLocally(response)
        case let .forward(cluster, endpoint, appProtocol):
            log?.entry.upstreamCluster = cluster
            log?.entry.upstreamHost = localAppAddress(endpoint).description
            handler.pendingLog = log
            handler.forward(to: endpoint, head: head, body: body, port: port, http2: appProtocol == .grpc)
        }
    }

    /// Local clusters name the app as `127.0.0.1:port` (its pod's loopback). In local mode the pods
    /// share the machine's loopback, so the pod's loopback is its own pod IP.
    func localAppAddress(_ endpoint: MeshProxy.SocketAddress) -> MeshProxy.SocketAddress {
        // Under capture the sidecar shares the pod's network namespace and its loopback.
        guard settings.capture == .local else { return endpoint }
        guard endpoint.ip == "127.0.0.1" || endpoint.ip == "localhost" else { return endpoint }
        return MeshProxy.SocketAddress(ip: settings.podIP, port: endpoint.port)
    }

    /// Nothing answered behind the sidecar: the engine says what the peer gets.
    func inboundAppUnreachable(port: Int) -> MeshProxy.HTTPResponseHead {
        engine.inboundAppUnreachable(port: port)
    }

    func inboundAppResponded(port: Int, status: Int, latency: MeshDuration, peer: WorkloadLabels, connection: ConnectionID?) {
        engine.inboundResponse(port: port, status: status, latency: latency, connection: connection, now: now())
        metrics.recordRequest(source: peer, destination: workloadLabels, status: status, milliseconds: latency.milliseconds)
    }

    func inboundConnectionClosed(_ id: ConnectionID) {
        engine.inboundConnectionClosed(id)
    }
}

// MARK: - HTTP/2 to the app (gRPC ports)

extension InboundDownstreamHandler {
    /// Forwards the request as a stream on the shared h2c connection to the app.
    func forwardOverHTTP2(to endpoint: MeshProxy.SocketAddress, head appHead: NIOHTTP1.HTTPRequestHead, body: RequestBody?, port: Int) {
        var head = appHead
        let grpc = GRPCLocalReply.isGRPC(contentType: head.headers.first(name: "content-type"))
        head.headers = MeshHeaders.kept(head.headers, droppingWhere: MeshHeaders.isHopByHop, room: 2)
        SidecarDriver.frame(&head.headers, body: body, appHead: appHead)
        if grpc { head.headers.add(name: "te", value: "trailers") }
        let appStream = AppStream(owner: self, driver: driver, port: port)
        replaceAppStream(appStream)
        let stream = HTTP2ClientStream(head: head, body: body, delegate: appStream)
        appStream.stream = stream
        let connection = driver.http2Connection(host: endpoint.ip, port: endpoint.port, toPeerSidecar: false, connectTimeout: .seconds(5))
        connection.openStream(initialize: { channel in try stream.install(on: channel, secure: false) },
                              failed: { [weak appStream] in appStream?.unreachable() })
    }
}

/// One request to the local app over HTTP/2 (h2c), reported to the inbound handler as an
/// HTTP/1.1 app response would be. Confined to the driver's event loop.
final class AppStream: HTTP2ClientStreamDelegate, @unchecked Sendable {
    private weak var owner: InboundDownstreamHandler?
    private let driver: SidecarDriver
    private let port: Int
    private let sentAt: NIODeadline
    var stream: HTTP2ClientStream?

    init(owner: InboundDownstreamHandler, driver: SidecarDriver, port: Int) {
        self.owner = owner
        self.driver = driver
        self.port = port
        self.sentAt = driver.clock.now()
    }

    /// The peer went away: the app's stream is reset.
    func cancel() {
        owner = nil
        stream?.cancel()
        stream = nil
    }

    /// The connection to the app could not be opened: the sidecar answers 503.
    func unreachable() {
        stream = nil
        owner?.appUnreachable(port: port)
    }

    func streamResponseHead(_ stream: HTTP2ClientStream, _ head: NIOHTTP1.HTTPResponseHead) {
        let latency = MeshDuration(nanoseconds: driver.clock.nanoseconds(since: sentAt))
        driver.inboundAppResponded(port: port, status: Int(head.status.code), latency: latency, peer: owner?.peerLabels ?? .unknown,
                                   connection: owner?.connectionID)
        owner?.startResponse(head)
    }

    func streamBody(_ stream: HTTP2ClientStream, _ part: ByteBuffer, from channel: any Channel) {
        owner?.streamBody(part, from: channel)
    }

    func streamEnd(_ stream: HTTP2ClientStream, trailers: HTTPHeaders?) {
        self.stream = nil
        owner?.finishResponse(trailers: trailers)
    }

    func streamLost(_ stream: HTTP2ClientStream, afterHead: Bool) {
        self.stream = nil
        if afterHead { owner?.abortResponse() } else { owner?.appReset() }
    }
}
