import MeshModel
import Logging
import MeshProxy
import NIOCore
import NIOHTTP1
import NIOPosix

/// Raw TCP proxying for `tcp` and `tcp-server-first` ports. In local mode an app opens a tunnel
/// with `CONNECT <cluster-ip or service>:<port> HTTP/1.1` on the outbound listener; the engine's
/// `outboundConnection` decides, the sidecar answers `200 Connection Established` and relays bytes.
/// Towards the peer sidecar the tunnel starts with the same kind of CONNECT preamble on its inbound
/// listener (inside mTLS), naming the target port (and, in the plaintext test mode only, the source
/// identity; under mTLS it is the client certificate's); the peer's
/// engine decides with `inboundConnection` and the peer connects to the app at its pod IP and
/// that port (the original destination). The peer sends no CONNECT answer: a refused tunnel is
/// simply closed, as FSM closes refused TCP connections.
final class TCPRelay: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?
    /// The other half of the tunnel.
    private(set) var peer: TCPRelay?
    /// Bytes for this half's socket that arrived before it was connected.
    private var waiting: [ByteBuffer] = []
    private var closed = false
    /// Called once, when this half closes (or fails to connect).
    var onClose: (() -> Void)?

    init() {}

    static func pair() -> (TCPRelay, TCPRelay) {
        let a = TCPRelay(), b = TCPRelay()
        a.peer = b
        b.peer = a
        return (a, b)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { flushWaiting(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelActive(context: ChannelHandlerContext) {
        flushWaiting(context)
        context.fireChannelActive()
    }

    private func flushWaiting(_ context: ChannelHandlerContext) {
        if closed {
            context.close(promise: nil)
            return
        }
        guard !waiting.isEmpty else { return }
        for buffer in waiting { context.write(wrapOutboundOut(buffer), promise: nil) }
        waiting.removeAll()
        context.flush()
    }

    /// Writes towards this half's socket (bytes from the other half, or a preamble).
    func deliver(_ buffer: ByteBuffer, from source: (any Channel)? = nil) {
        guard let context, context.channel.isActive, waiting.isEmpty else {
            waiting.append(buffer)
            return
        }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        if let source { readPause.afterWrite(into: context.channel, from: source) }
    }

    private var readPause = ReadPause()

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { readPause.resume() }
        context.fireChannelWritabilityChanged()
    }

    func closeSoon() {
        guard !closed else { return }
        closed = true
        context?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        peer?.deliver(unwrapInboundIn(data), from: context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        readPause.resume()
        closedForGood()
        context.fireChannelInactive()
    }

    /// This half is gone: the other half closes too.
    func closedForGood() {
        closed = true
        peer?.closeSoon()
        onClose?()
        onClose = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// The handlers of an HTTP server connection, so that a CONNECT can take them out and leave a
/// raw relay.
struct HTTPServerHandlers {
    let decoder = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes))
    /// One request at a time to the handler, without holding reads between requests; refuses to
    /// write response headers with CR, LF or NUL (from a config's `ResponseHeadersToAdd` or an
    /// upstream): no header injection towards the app; writes the responses as bytes (the
    /// connection's response encoder).
    let pipelining = DownstreamPipeliningHandler()
    /// Idle and request-head deadlines (nil on the admin listener).
    let timeouts: DownstreamTimeoutHandler?

    init(timeouts: DownstreamTimeoutHandler? = nil) {
        self.timeouts = timeouts
    }

    /// `timeoutsInstalled`: the deadlines handler is already in the pipeline, ahead of these.
    func install(in pipeline: ChannelPipeline.SynchronousOperations, then handler: any ChannelHandler, timeoutsInstalled: Bool = false) throws {
        if let timeouts, !timeoutsInstalled { try pipeline.addHandler(timeouts) }
        try pipeline.addHandler(decoder)
        try pipeline.addHandler(pipelining)
        try pipeline.addHandler(handler)
    }

    /// Replaces the HTTP handlers (and `handler`) with `relay`; bytes the decoder already read past
    /// the CONNECT request go to the relay. `preamble`, if any, is written raw first.
    func switchToRelay(_ relay: TCPRelay, removing handler: any RemovableChannelHandler, context: ChannelHandlerContext, preamble: String?) {
        // Raw bytes must not meet the HTTP encoder (the pipelining handler): it leaves first; the
        // preamble waits in the relay.
        if let preamble { relay.deliver(ByteBuffer(string: preamble)) }
        switchToRaw(relay, removing: handler, context: context)
    }

    /// Replaces the HTTP handlers (and `handler`) with `next`, after writing `answer` raw (once the
    /// encoder is gone); bytes the decoder already read past the CONNECT request go on to `next`.
    func switchToRaw(_ next: any ChannelHandler, removing handler: any RemovableChannelHandler, context: ChannelHandlerContext, answer: String? = nil) {
        let pipeline = context.pipeline.syncOperations
        let channel = context.channel
        pipeline.removeHandler(handler, promise: nil)
        pipeline.removeHandler(pipelining, promise: nil)
        if let answer { channel.writeAndFlush(ByteBuffer(string: answer), promise: nil) }
        do {
            try pipeline.addHandler(next, position: .last)
        } catch {
            channel.close(promise: nil)
            return
        }
        // Last: bytes the decoder read past the CONNECT request go on to `next`.
        pipeline.removeHandler(decoder, promise: nil)
    }
}

extension SidecarDriver {
    static let tunnelEstablished = "HTTP/1.1 200 Connection Established\r\n\r\n"

    /// `CONNECT authority` on the outbound listener (`requestID`: its `x-request-id`, which the
    /// access log line of a refusal carries). To a port where an `https` Egress rule names hosts
    /// (`outboundReadsServerName`) the tunnel opens first and the engine decides with the server
    /// name of the ClientHello the app then sends through it, as under capture; a refusal then
    /// closes the tunnel (curl's exit 35; DECISIONS 228). Anything else is decided at once:
    /// refused, the CONNECT gets no answer but the connection's close (DECISIONS 229).
    func outboundTunnel(authority: String, requestID: String? = nil, from context: ChannelHandlerContext, handlers: HTTPServerHandlers,
                        handler: any RemovableChannelHandler) {
        let destination = MeshProxy.SocketAddress(parsing: authority).flatMap { SidecarDriver.isIPv4($0.ip) ? $0 : nil }
            ?? resolver.destination(forHost: authority)
        if engine.outboundReadsServerName(to: destination) {
            let channel = context.channel
            // The answer goes first: the app sends its ClientHello only after it.
            let install = { (peek: any ChannelHandler) in
                handlers.switchToRaw(peek, removing: handler, context: context, answer: SidecarDriver.tunnelEstablished)
            }
            _ = peekServerName(on: channel, install: install) { [self] serverName in
                relayRawConnection(to: destination, serverName: serverName, requestID: requestID, channel: channel)
            }
            return
        }
        guard let appSide = openOutboundTunnel(to: destination, requestID: requestID) else {
            context.close(promise: nil)
            return
        }
        handlers.switchToRelay(appSide, removing: handler, context: context, preamble: SidecarDriver.tunnelEstablished)
    }

    /// A connection relayed from its first byte (or before any, for server-first protocols), no
    /// HTTP in between: a captured one whose original destination is a TCP port, or a CONNECT
    /// tunnel whose ClientHello named the server. Closed when the engine refuses it.
    func relayRawConnection(to destination: MeshProxy.SocketAddress, serverName: String? = nil, requestID: String? = nil, channel: any Channel) {
        guard let appSide = openOutboundTunnel(to: destination, serverName: serverName, requestID: requestID) else {
            channel.close(promise: nil)
            return
        }
        do {
            try channel.pipeline.syncOperations.addHandler(appSide)
        } catch {
            channel.close(promise: nil)
        }
    }

    /// Asks the engine for a TCP connection to `destination` and, when it agrees, dials the peer
    /// sidecar with the tunnel preamble. Returns the relay half for the app's connection.
    private func openOutboundTunnel(to destination: MeshProxy.SocketAddress, serverName: String? = nil, requestID: String? = nil) -> TCPRelay? {
        let id = newConnectionID()
        let decision = engine.outboundConnection(id, destination: destination, serverName: serverName, now: now(), random: &generator)
        switch decision {
        case .reject(let reason):
            logger.debug("outbound tunnel refused", metadata: ["reason": "\(reason.rawValue)", "destination": "\(destination)"])
            logRefusedTCP(.outbound, destination: destination.description, flags: decision.responseFlags, requestID: requestID)
            return nil
        case .connect(let cluster, let endpoint):
            let (appSide, upstreamSide) = TCPRelay.pair()
            appSide.onClose = { [self] in engine.outboundConnectionClosed(id) }
            if let target = engine.egressGatewayTarget(ofCluster: cluster) {
                connectThroughEgressGateway(upstreamSide, gateway: endpoint, target: target, cluster: cluster)
                return appSide
            }
            if Sidecar.isEgressCluster(cluster) {
                // Egress: to the destination itself, as the app dialled it (no mesh TLS, no preamble).
                let target = settings.serviceAddresses[endpoint] ?? endpoint
                connectRelay(upstreamSide, host: target.ip, port: target.port, preamble: nil, toPeerSidecar: false, cluster: cluster)
                return appSide
            }
            var preamble = "CONNECT \(endpoint) HTTP/1.1\r\nhost: \(endpoint)\r\n"
            if peerTLS == nil { preamble += "\(MeshHeaders.sourceIdentity): \(engine.config?.serviceIdentity ?? "")\r\n" }
            preamble += "\r\n"
            connectRelay(upstreamSide, host: endpoint.ip, port: settings.inboundPort, preamble: preamble, toPeerSidecar: true, cluster: cluster)
            return appSide
        }
    }

    /// `CONNECT ip:port` from a peer sidecar on the inbound listener.
    func inboundTunnel(authority: String, peerIdentity: String?, connection: ConnectionID, source: MeshProxy.SocketAddress,
                       from context: ChannelHandlerContext, handlers: HTTPServerHandlers, handler: any RemovableChannelHandler) -> Bool {
        let port = MeshProxy.SocketAddress(parsing: authority)?.port ?? 0
        let decision = engine.inboundConnection(connection, port: port, source: source, peerIdentity: peerIdentity, now: now())
        switch decision {
        case .close(let reason):
            logger.debug("inbound tunnel refused", metadata: ["reason": "\(reason.rawValue)", "port": "\(port)"])
            logRefusedTCP(.inbound, destination: authority, flags: decision.responseFlags, peerIdentity: peerIdentity)
            context.close(promise: nil)
            return false
        case .accept:
            let (peerSide, appSide) = TCPRelay.pair()
            peerSide.onClose = { [self] in engine.inboundConnectionClosed(connection) }
            handlers.switchToRelay(peerSide, removing: handler, context: context, preamble: nil)
            // The app on this pod at the target port: its loopback, as FSM's local clusters say
            // (in local mode, where pods share the machine's loopback, the pod IP).
            let app = localAppAddress(MeshProxy.SocketAddress(ip: "127.0.0.1", port: port))
            connectRelay(appSide, host: app.ip, port: app.port, preamble: nil, toPeerSidecar: false)
            return true
        }
    }

    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Egress through the egress gateway (`Spec.EgressGateway`): a tunnel to it naming the
    /// destination, `CONNECT ip:port`; its answer is read off (`EgressTunnelHandshakeHandler`)
    /// before the relay carries the app's bytes. A refusal ends the app's connection, logged UF.
    private func connectThroughEgressGateway(_ relay: TCPRelay, gateway: MeshProxy.SocketAddress, target: MeshProxy.SocketAddress, cluster: String) {
        let preamble = "CONNECT \(target) HTTP/1.1\r\nhost: \(target)\r\n\r\n"
        let handshake = EgressTunnelHandshakeHandler { [self] status in
            count(.upstreamConnectFailed)
            logger.warning("egress gateway refused the tunnel", metadata: ["gateway": "\(gateway)", "target": "\(target)", "status": "\(status.map(String.init) ?? "none")"])
            logRefusedTCP(.outbound, destination: target.description, flags: .upstreamConnectionFailure, upstream: (host: gateway.description, cluster: cluster))
        }
        connectRelay(relay, host: gateway.ip, port: gateway.port, preamble: preamble, toPeerSidecar: false, cluster: cluster, handshake: handshake)
    }

    private func connectRelay(_ relay: TCPRelay, host: String, port: Int, preamble: String?, toPeerSidecar: Bool, cluster: String? = nil,
                              handshake: EgressTunnelHandshakeHandler? = nil) {
        // The preamble goes out first, before any byte of the other half.
        if let preamble { relay.deliver(ByteBuffer(string: preamble)) }
        connect(host: host, port: port, timeout: .seconds(5), cluster: cluster) { channel in
            if toPeerSidecar { try self.addPeerTLSClient(to: channel.pipeline.syncOperations) }
            if let handshake { try channel.pipeline.syncOperations.addHandler(handshake) }
            try channel.pipeline.syncOperations.addHandler(relay)
        }.whenFailure { [self] error in
            count(.upstreamConnectFailed)
            logger.warning("tunnel connect failed", metadata: ["host": "\(host)", "port": "\(port)", "error": "\(error)"])
            logRefusedTCP(toPeerSidecar ? .outbound : .inbound, destination: "\(host):\(port)", flags: .upstreamConnectionFailure,
                          upstream: (host: "\(host):\(port)", cluster: cluster))
            relay.closedForGood()
        }
    }
}
