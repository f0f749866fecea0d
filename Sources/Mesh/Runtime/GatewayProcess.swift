import AsyncHTTPClient
import Logging
import MeshModel
import MeshProxy
import NIOCore
import NIOPosix

/// A whole gateway (`fsm gateway`): one event loop, the engine's driver, the admin listener, and
/// one socket per port and kind the applied config names (`GatewayListenerPlan`), opened and
/// closed as configs change. Its config comes from the controller (`GatewayConfigClient`) or is
/// applied directly (`apply`); a config the engine (or TLS) refuses keeps the last good one and
/// is counted (`runtime.config_rejected`).
public final class GatewayProcess: @unchecked Sendable {
    let driver: GatewayDriver
    let group: MultiThreadedEventLoopGroup
    private var admin: (any Channel)?
    /// Loop-confined: the sockets bound now.
    private var sockets: [GatewayListenerPlan.Socket: any Channel] = [:]
    private var configClient: GatewayConfigClient?
    private var controllerHTTP: HTTPClient?

    private init(driver: GatewayDriver, group: MultiThreadedEventLoopGroup) {
        self.driver = driver
        self.group = group
    }

    public var adminAddress: NIOCore.SocketAddress? { admin?.localAddress }

    /// A gateway whose config comes from the controller (`fsm gateway`): the engine is its
    /// driver's `Sidecar`, configured by the gateway's config.
    public static func start(settings: GatewaySettings, controller: GatewayEndpoint, logger: Logger = Logger(label: "fsm.gateway")) async throws -> GatewayProcess {
        try await start(settings: settings, makeEngine: { sidecar in
            sidecar.gatewayEntry = SidecarGatewayEngine.httpEntry
            return SidecarGatewayEngine(driver: sidecar)
        }, controller: controller, logger: logger)
    }

    /// A gateway whose configs its caller applies (`apply`): `sim --real`, whose controller runs
    /// in process and feeds the gateway as it feeds the sidecars. The listeners come with the
    /// first config.
    public static func start(settings: GatewaySettings, logger: Logger = Logger(label: "fsm.gateway")) async throws -> GatewayProcess {
        try await start(settings: settings, makeEngine: { sidecar in
            sidecar.gatewayEntry = SidecarGatewayEngine.httpEntry
            return SidecarGatewayEngine(driver: sidecar)
        }, controller: nil, logger: logger)
    }

    /// A gateway deciding with `engine` (tests drive the shell with a scripted one).
    static func start(settings: GatewaySettings, engine: any GatewayEngine, controller: GatewayEndpoint? = nil,
                      logger: Logger = Logger(label: "fsm.gateway")) async throws -> GatewayProcess {
        try await start(settings: settings, makeEngine: { _ in engine }, controller: controller, logger: logger)
    }

    /// Starts the admin listener, then (with a controller) polls for the config; the data
    /// listeners come with the first config.
    private static func start(settings: GatewaySettings, makeEngine: (SidecarDriver) -> any GatewayEngine, controller: GatewayEndpoint?,
                              logger: Logger) async throws -> GatewayProcess {
        // The loop's stalls, as the sidecar's (DECISIONS 237): `/stats` and `/metrics` show them.
        let stalls = LoopStallMonitor()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1, metricsDelegate: stalls)
        let loop = group.next()
        let sidecar = SidecarDriver(eventLoop: loop, settings: settings.sidecarSettings, logger: logger)
        sidecar.loopStalls = stalls
        let process = GatewayProcess(driver: GatewayDriver(sidecar: sidecar, settings: settings, engine: makeEngine(sidecar)), group: group)
        do {
            process.admin = try await process.bindAdmin()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        if let controller {
            let http = MeshHTTP.makeClient(eventLoopGroup: group)
            process.controllerHTTP = http
            let client = GatewayConfigClient(endpoint: controller, process: process, http: http)
            process.configClient = client
            client.start()
        }
        logger.info("gateway started", metadata: [
            "admin": "\(process.adminAddress?.description ?? "")", "bind": "\(settings.bindAddress)",
            "controller": "\(controller?.description ?? "none")", "connection_limit": "\(settings.connectionLimit)",
        ])
        return process
    }

    private func bindAdmin() async throws -> any Channel {
        let sidecar = driver.sidecar, gateway = driver
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard sidecar.admitConnection(on: .admin, channel) else { return channel.eventLoop.makeFailedFuture(ListenerFull(listener: .admin)) }
                return channel.eventLoop.makeCompletedFuture {
                    let handlers = HTTPServerHandlers(timeouts: DownstreamTimeoutHandler(driver: sidecar))
                    try handlers.install(in: channel.pipeline.syncOperations,
                                         then: AdminHandler(driver: sidecar, listener: .admin, handlers: handlers, pages: gateway.adminPage))
                }
            }
            .bind(host: driver.settings.adminAddress, port: driver.settings.adminPort)
            .get()
    }

    // MARK: Config

    /// Applies `config` (on the loop) and, when it is taken, binds the sockets it adds and closes
    /// those it drops. A socket that cannot be bound is logged and counted and tried again with
    /// the next config (`/ready` says 503 meanwhile). One call at a time (the config client's task).
    @discardableResult
    public func apply(_ config: GatewayConfig) async -> ConfigApplyResult {
        let driver = self.driver
        let result = (try? await driver.eventLoop.submit { driver.apply(config) }.get()) ?? .rejected(reason: "the gateway is stopping")
        if case .applied = result { await reconcile() }
        return result
    }

    func reconcile() async {
        let driver = self.driver
        guard let (close, open) = try? await driver.eventLoop.submit({ () -> ([(GatewayListenerPlan.Socket, any Channel)], [GatewayListenerPlan.Socket]) in
            let wanted = Set(driver.plan.sockets)
            let close = self.sockets.filter { !wanted.contains($0.key) }.sorted { $0.key < $1.key }
            for (socket, _) in close {
                self.sockets[socket] = nil
                driver.bound.remove(socket)
            }
            return (close, wanted.subtracting(self.sockets.keys).sorted())
        }).get() else { return }
        for (socket, channel) in close {
            try? await channel.close()
            driver.logger.info("gateway listener closed", metadata: ["listener": "\(socket)"])
        }
        for socket in open {
            do {
                let channel = try await bindRetrying(socket)
                _ = try? await driver.eventLoop.submit {
                    self.sockets[socket] = channel
                    driver.bound.insert(socket)
                }.get()
                driver.logger.info("gateway listener bound", metadata: ["listener": "\(socket)", "address": "\(channel.localAddress?.description ?? "")"])
            } catch {
                _ = try? await driver.eventLoop.submit { driver.count(.bindFailed, socket) }.get()
                driver.logger.error("gateway listener cannot bind", metadata: [
                    "listener": "\(socket)", "address": "\(driver.settings.bindAddress)", "error": "\(NetworkErrorText.reason(of: error))",
                ])
            }
        }
    }

    /// A port this process just closed (a listener changing kind) can take a moment to be free
    /// again: a failed bind is tried twice more, 100 ms apart, before it counts.
    private func bindRetrying(_ socket: GatewayListenerPlan.Socket) async throws -> any Channel {
        for _ in 0..<2 {
            if let channel = try? await bind(socket) { return channel }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await bind(socket)
    }

    private func bind(_ socket: GatewayListenerPlan.Socket) async throws -> any Channel {
        let driver = self.driver
        let host = driver.settings.bindAddress
        if socket.kind == .udp {
            return try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: GatewayUDPRelay.receiveBufferSize))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(GatewayUDPRelay(driver: driver, socket: socket)) }
                }
                .bind(host: host, port: socket.port)
                .get()
        }
        return try await ServerBootstrap.dataPath(group: group, stalls: driver.sidecar.loopStalls)
            .childChannelInitializer { channel in
                // A failed initializer makes NIO close the socket before registering it.
                guard driver.admit(socket, channel) else { return channel.eventLoop.makeFailedFuture(GatewayListenerFull(socket: socket)) }
                return channel.eventLoop.makeCompletedFuture { try driver.configureAcceptedConnection(channel, socket: socket) }
            }
            .bind(host: host, port: socket.port)
            .get()
    }

    /// The address a socket is bound to now (nil: not bound).
    func address(of socket: GatewayListenerPlan.Socket) async -> NIOCore.SocketAddress? {
        try? await driver.eventLoop.submit { self.sockets[socket]?.localAddress }.get()
    }

    /// The sockets the applied config asks for that are not bound (a port another process holds),
    /// in port order; empty when every listener is up.
    public func unboundSockets() async -> [(port: Int, kind: String)] {
        let driver = self.driver
        return (try? await driver.eventLoop.submit {
            driver.plan.sockets.filter { !driver.bound.contains($0) }.sorted().map { (port: $0.port, kind: "\($0.kind)") }
        }.get()) ?? []
    }

    /// The admin `/stats` text: the listeners' counters, then the driver's.
    public func statsText() async -> String {
        let driver = self.driver
        return (try? await driver.eventLoop.submit { driver.listenerStatsText() + driver.sidecar.statsText() }.get()) ?? ""
    }

    /// Runs `body` on the loop (tests, admin tooling).
    func onLoop<T: Sendable>(_ body: @escaping @Sendable (GatewayDriver) -> T) async throws -> T {
        let driver = self.driver
        return try await driver.eventLoop.submit { body(driver) }.get()
    }

    // MARK: Stop

    /// Stops polling, closes every listener (open connections get up to `drainTimeout` for the
    /// requests in progress and the mirror copies they sent), then the loop.
    public func shutdown(drainTimeout: TimeAmount = .seconds(5)) async {
        await configClient?.stop()
        try? await controllerHTTP?.shutdown()
        let driver = self.driver
        let channels = (try? await driver.eventLoop.submit { () -> [any Channel] in
            driver.isDraining = true
            driver.sidecar.isDraining = true
            let all = Array(self.sockets.values)
            self.sockets = [:]
            driver.bound = []
            return all
        }.get()) ?? []
        for channel in channels + [admin].compactMap({ $0 }) { try? await channel.close() }
        let clock = driver.sidecar.clock
        let deadline = clock.now() + drainTimeout
        while clock.now() < deadline {
            let busy = (try? await driver.eventLoop.submit { driver.sidecar.requestsInProgress + driver.sidecar.mirrorsInProgress }.get()) ?? 0
            if busy == 0 { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        driver.logger.info("gateway stopped")
        try? await group.shutdownGracefully()
    }

    /// Blocks until the admin listener closes (the `fsm gateway` main loop).
    public func waitUntilClosed() async {
        try? await admin?.closeFuture.get()
    }
}

/// An accepted gateway connection closed at once: its socket holds its limit.
struct GatewayListenerFull: Error, CustomStringConvertible {
    let socket: GatewayListenerPlan.Socket
    var description: String { "the gateway listener \(socket) is at its connection limit" }
}
