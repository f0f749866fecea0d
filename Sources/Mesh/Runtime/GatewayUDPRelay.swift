import Logging
import MeshProxy
import NIOCore
import NIOPosix

/// A UDP listener: each client address gets a session (`GatewayUDPSessions`) with its own
/// connected socket towards the backend the engine names; datagrams go both ways on it, and an
/// idle session closes. Loop-confined, like everything of its `GatewayDriver`.
final class GatewayUDPRelay: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    /// Datagrams of a new session kept while its backend socket opens; more are dropped.
    static let pendingLimit = 16
    /// The largest datagram read (a UDP payload is at most 65,507 bytes).
    static let receiveBufferSize = 65_536

    private let driver: GatewayDriver
    private let socket: GatewayListenerPlan.Socket
    private var sessions: GatewayUDPSessions
    private var backends: [ConnectionID: Backend] = [:]
    private var context: ChannelHandlerContext?
    private var sweepTask: RepeatedTask?

    final class Backend: @unchecked Sendable {
        let client: NIOCore.SocketAddress
        var channel: (any Channel)?
        var pending: [ByteBuffer] = []
        var closed = false
        init(client: NIOCore.SocketAddress) { self.client = client }
    }

    init(driver: GatewayDriver, socket: GatewayListenerPlan.Socket) {
        self.driver = driver
        self.socket = socket
        self.sessions = GatewayUDPSessions(idleTimeout: driver.settings.udpIdleTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        sweepTask = context.eventLoop.scheduleRepeatedTask(initialDelay: sessions.sweepInterval, delay: sessions.sweepInterval) { [self] _ in sweep() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        sweepTask?.cancel()
        sweepTask = nil
        for (id, backend) in backends { end(id, backend) }
        backends = [:]
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        driver.count(.datagramsReceived, socket)
        let remote = envelope.remoteAddress
        let client = MeshProxy.SocketAddress(ip: remote.ipAddress ?? "", port: remote.port ?? 0)
        switch sessions.datagram(from: client, at: context.eventLoop.now) {
        case .forward(let id):
            guard let backend = backends[id] else { return drop() }
            send(envelope.data, on: backend)
        case .open:
            open(client, remote: remote, first: envelope.data, context: context)
        }
    }

    private func open(_ client: MeshProxy.SocketAddress, remote: NIOCore.SocketAddress, first: ByteBuffer, context: ChannelHandlerContext) {
        guard !driver.isDraining, driver.counters.opened(socket) == .admit else { return drop() }
        let id = driver.newConnectionID()
        let decision = driver.engine.connection(id, port: socket.port, transport: .udp, serverName: nil, source: client,
                                                now: driver.sidecar.now(), random: &driver.generator)
        guard case let .connect(cluster, endpoint) = decision else {
            driver.counters.closed(socket)
            driver.count(.refused, socket)
            driver.engine.connectionClosed(id)
            return drop()
        }
        sessions.opened(id, for: client, at: context.eventLoop.now)
        let backend = Backend(client: remote)
        backend.pending.append(first)
        backends[id] = backend
        let loop = context.eventLoop
        DatagramBootstrap(group: loop)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: Self.receiveBufferSize))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(BackendHandler(relay: self, id: id))
                }
            }
            .connect(host: endpoint.ip, port: endpoint.port)
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    guard !backend.closed else { return channel.close(promise: nil) }
                    backend.channel = channel
                    for datagram in backend.pending { channel.write(AddressedEnvelope(remoteAddress: channel.remoteAddress!, data: datagram), promise: nil) }
                    backend.pending = []
                    channel.flush()
                case .failure(let error):
                    driver.count(.upstreamConnectFailed, socket)
                    driver.logger.info("gateway UDP session cannot reach its backend", metadata: [
                        "listener": "\(socket)", "cluster": "\(cluster)", "endpoint": "\(endpoint)", "error": "\(error)",
                    ])
                    close(id, client: client)
                }
            }
    }

    private func send(_ datagram: ByteBuffer, on backend: Backend) {
        guard let channel = backend.channel, let remote = channel.remoteAddress else {
            guard backend.pending.count < Self.pendingLimit else { return drop() }
            backend.pending.append(datagram)
            return
        }
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: datagram), promise: nil)
    }

    private func drop() {
        driver.count(.datagramsDropped, socket)
    }

    /// A datagram from session `id`'s backend: to its client.
    fileprivate func backendAnswered(_ id: ConnectionID, _ datagram: ByteBuffer) {
        guard let backend = backends[id], let context else { return }
        let client = MeshProxy.SocketAddress(ip: backend.client.ipAddress ?? "", port: backend.client.port ?? 0)
        sessions.answered(client, at: context.eventLoop.now)
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: backend.client, data: datagram)), promise: nil)
    }

    private func sweep() {
        guard let context else { return }
        for (client, id) in sessions.sweep(at: context.eventLoop.now) {
            driver.count(.sessionsIdleClosed, socket)
            close(id, client: client)
        }
    }

    private func close(_ id: ConnectionID, client: MeshProxy.SocketAddress) {
        sessions.closed(client)
        guard let backend = backends.removeValue(forKey: id) else { return }
        end(id, backend)
    }

    private func end(_ id: ConnectionID, _ backend: Backend) {
        guard !backend.closed else { return }
        backend.closed = true
        backend.channel?.close(promise: nil)
        driver.counters.closed(socket)
        driver.engine.connectionClosed(id)
    }

    /// The socket towards one session's backend.
    final class BackendHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        private weak var relay: GatewayUDPRelay?
        private let id: ConnectionID

        init(relay: GatewayUDPRelay, id: ConnectionID) {
            self.relay = relay
            self.id = id
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            relay?.backendAnswered(id, unwrapInboundIn(data).data)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A connected UDP socket reports the backend's ICMP port unreachable as a read error:
            // the datagram is lost, the session stays (the backend may come back).
            relay?.drop()
        }
    }
}
