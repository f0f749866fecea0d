import Logging
import MeshModel
import MeshProxy
import NIOCore
import NIOSSL
import NIOTLS

extension GatewayDriver {
    /// The handlers of a connection `socket` admitted (TCP sockets; UDP has its own handler).
    func configureAcceptedConnection(_ channel: any Channel, socket: GatewayListenerPlan.Socket) throws {
        switch socket.kind {
        case .http:
            try installHTTP(on: channel.pipeline.syncOperations, socket: socket, timeouts: nil)
        case .tls:
            try installTLSPeek(on: channel, socket: socket)
        case .tcp:
            relay(channel, socket: socket, serverName: nil, installRelay: { try channel.pipeline.syncOperations.addHandler($0) })
        case .udp:
            preconditionFailure("UDP sockets take datagrams (GatewayUDPRelay), not connections")
        }
    }

    /// HTTP/1.1 or HTTP/2 (the preface, in plaintext or after TLS with either ALPN) with the
    /// sidecar's deadlines and request handling; each request goes to the engine's gateway entry
    /// for `socket`'s port. `timeouts`: the deadlines handler already in the pipeline (in front of TLS).
    func installHTTP(on operations: ChannelPipeline.SynchronousOperations, socket: GatewayListenerPlan.Socket, timeouts existing: DownstreamTimeoutHandler?,
                     scheme: String = "http", serverName: String? = nil) throws {
        let sidecar = self.sidecar
        let origin = GatewayRequestOrigin(port: socket.port, scheme: scheme, serverName: serverName)
        let timeouts = existing ?? DownstreamTimeoutHandler(driver: sidecar)
        if existing == nil { try operations.addHandler(timeouts) }
        let makeHandler: @Sendable (HTTPServerHandlers?) -> any ChannelHandler = { OutboundDownstreamHandler(driver: sidecar, handlers: $0, gateway: origin) }
        try operations.addHandler(DownstreamProtocolSniffer(
            driver: sidecar, listener: "gateway \(socket)",
            installHTTP1: { operations in
                let handlers = HTTPServerHandlers(timeouts: timeouts)
                try handlers.install(in: operations, then: makeHandler(handlers), timeoutsInstalled: true)
            },
            installHTTP2: { operations in
                operations.removeHandler(timeouts, promise: nil)
                try sidecar.installHTTP2Server(on: operations, listener: "gateway \(socket)", makeHandler: makeHandler)
            }))
    }

    /// A TLS socket: the handshake deadline runs from the accept; the ClientHello's SNI is read
    /// without answering it (`SNIHandler`), the engine says how the port treats that name, and
    /// the connection goes on terminated (HTTP over TLS) or relayed untouched (passthrough).
    private func installTLSPeek(on channel: any Channel, socket: GatewayListenerPlan.Socket) throws {
        let operations = channel.pipeline.syncOperations
        let timeouts = DownstreamTimeoutHandler(driver: sidecar, secure: true)
        try operations.addHandler(timeouts)
        let peek = ByteToMessageHandler(SNIHandler { [self] result in
            let serverName: String? = if case .hostname(let name) = result { name } else { nil }
            tlsChosen(channel: channel, socket: socket, serverName: serverName, timeouts: timeouts)
            return channel.eventLoop.makeSucceededVoidFuture()
        })
        try operations.addHandler(peek)
    }

    /// Called while the SNI handler still holds the ClientHello: what goes after it gets those
    /// bytes when it leaves.
    private func tlsChosen(channel: any Channel, socket: GatewayListenerPlan.Socket, serverName: String?, timeouts: DownstreamTimeoutHandler) {
        let operations = channel.pipeline.syncOperations
        switch engine.tlsChoice(port: socket.port, serverName: serverName) {
        case let .terminate(certificate, clientCA):
            guard let context = tlsContext(certificate, clientCA: clientCA) else {
                refuse(channel, socket: socket, reason: "no TLS context for the certificate", serverName: serverName)
                return
            }
            do {
                try operations.addHandler(NIOSSLServerHandler(context: context))
                try operations.addHandler(GatewayTLSFailureCounter(driver: self, socket: socket))
                guard engine.listenerProtocol(port: socket.port) == .tls else {
                    return try installHTTP(on: operations, socket: socket, timeouts: timeouts, scheme: "https", serverName: serverName)
                }
                // TLS Terminate with TCPRoutes: the decrypted bytes are relayed; only the
                // handshake has a deadline.
                try operations.addHandler(HandshakeDeadlineRemover(timeouts: timeouts))
                relay(channel, socket: socket, serverName: serverName, installRelay: { try operations.addHandler($0) })
            } catch {
                channel.close(promise: nil)
            }
        case .passthrough:
            // No handshake here: the ClientHello's deadline is over, the relay has none.
            operations.removeHandler(timeouts, promise: nil)
            relay(channel, socket: socket, serverName: serverName, installRelay: { try operations.addHandler($0) })
        case .plaintext:
            refuse(channel, socket: socket, reason: "not a TLS listener", serverName: serverName)
        case .reject(let reason):
            refuse(channel, socket: socket, reason: reason.rawValue, serverName: serverName)
        }
    }

    /// A connection the engine routes to a backend: relayed byte for byte (`TCPRelay`), the
    /// client's half installed by `installRelay`.
    func relay(_ channel: any Channel, socket: GatewayListenerPlan.Socket, serverName: String?,
               installRelay: (TCPRelay) throws -> Void) {
        let id = newConnectionID()
        let remote = channel.remoteAddress
        let source = MeshProxy.SocketAddress(ip: remote?.ipAddress ?? "", port: remote?.port ?? 0)
        let decision = engine.connection(id, port: socket.port, transport: .tcp, serverName: serverName, source: source,
                                         now: sidecar.now(), random: &generator)
        guard case let .connect(cluster, endpoint) = decision, !isDraining else {
            if case .reject(let reason) = decision { refuse(channel, socket: socket, reason: reason.rawValue, serverName: serverName) } else { channel.close(promise: nil) }
            engine.connectionClosed(id)
            return
        }
        let (clientSide, backendSide) = TCPRelay.pair()
        clientSide.onClose = { [self] in engine.connectionClosed(id) }
        do {
            try installRelay(clientSide)
        } catch {
            channel.close(promise: nil)
            clientSide.closedForGood()
            return
        }
        sidecar.connect(host: endpoint.ip, port: endpoint.port, timeout: settings.relayConnectTimeout, cluster: cluster) { backend in
            try backend.pipeline.syncOperations.addHandler(backendSide)
        }.whenFailure { [self] error in
            count(.upstreamConnectFailed, socket)
            logger.info("gateway relay cannot reach its backend", metadata: [
                "listener": "\(socket)", "cluster": "\(cluster)", "endpoint": "\(endpoint)", "error": "\(error)",
            ])
            backendSide.closedForGood()
        }
    }

    private func refuse(_ channel: any Channel, socket: GatewayListenerPlan.Socket, reason: String, serverName: String?) {
        count(.refused, socket)
        logger.debug("gateway connection refused", metadata: ["listener": "\(socket)", "reason": "\(reason)", "sni": "\(serverName ?? "")"])
        channel.close(promise: nil)
    }
}

/// Where a gateway HTTP request came in: the listener port and scheme the engine routes by (and
/// keeps in a redirect's `Location`).
struct GatewayRequestOrigin: Hashable, Sendable {
    var port: Int
    var scheme: String
    /// The TLS server name of a terminated connection (it picks the listener of a shared port).
    var serverName: String?
}

/// Counts a terminated TLS connection whose handshake failed (no client certificate, an
/// untrusted one, no shared protocol) on its listener, then lets the error close it.
final class GatewayTLSFailureCounter: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let driver: GatewayDriver
    private let socket: GatewayListenerPlan.Socket
    private var handshakeDone = false

    init(driver: GatewayDriver, socket: GatewayListenerPlan.Socket) {
        self.driver = driver
        self.socket = socket
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent { handshakeDone = true }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !handshakeDone, error is NIOSSLError || error is BoringSSLError {
            handshakeDone = true
            driver.count(.tlsHandshakeFailed, socket)
            driver.logger.info("gateway TLS handshake failed", metadata: ["listener": "\(socket)", "error": "\(error)"])
            context.close(promise: nil)
            return
        }
        context.fireErrorCaught(error)
    }
}

/// Takes the deadlines handler out once the TLS handshake completed (a relayed connection has
/// no request heads to time), then itself.
final class HandshakeDeadlineRemover: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let timeouts: DownstreamTimeoutHandler

    init(timeouts: DownstreamTimeoutHandler) {
        self.timeouts = timeouts
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            context.pipeline.syncOperations.removeHandler(timeouts, promise: nil)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}
