import AsyncHTTPClient
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import MeshModel
import MeshProxy
import MeshShell
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A whole sidecar: one event loop, the engine's driver, the outbound, inbound and Prometheus
/// listeners on the pod IP and the admin listener on loopback, and its config source: either a file (applied at start, re-read when
/// its modification time or size changes — polled each second — or on `reload()`/SIGHUP; a bad
/// file keeps the last good config and is counted, `runtime.config_reload_failed`), or the
/// controller, long-polled by `ControllerConfigClient` (`/ready` answers 503 until a first config).
/// Under mTLS the certificate files are polled the same way: a renewed certificate is used for new
/// connections (inbound and outbound) while open connections keep theirs; bad files keep the last
/// good certificate and are counted (`runtime.cert_reload_failed`).
public final class SidecarProcess: @unchecked Sendable {
    public let driver: SidecarDriver
    /// The config file; nil when the config comes from the controller.
    public let configPath: String?
    private var configClient: ControllerConfigClient?
    private var certificateClient: WorkloadCertificateClient?
    /// The client of `configClient` and `certificateClient`; shut down after them.
    private var controllerHTTP: HTTPClient?
    let group: MultiThreadedEventLoopGroup
    /// The event loop's stalls (NIO's metrics delegate of `group`; `LoopStallMonitor`).
    public let loopStalls: LoopStallMonitor
    private var channels: [any Channel] = []
    private var pollTask: RepeatedTask?
    private var signalSource: (any DispatchSourceSignal)?
    /// Loop-confined: what the last read of the file saw.
    private var lastSeen: (modified: Date, size: Int)?
    private var lastText: String?
    /// Loop-confined: certificate file contents that failed to load once (perhaps caught halfway
    /// through a rewrite of the three files) and, seen again, rejected for good (counted once).
    private var unsettledCertificateContents: [String]?
    private var rejectedCertificateContents: [String]?
    private let stopLock = NIOLock()
    private var stopped = false

    /// The addresses actually bound (ports resolved when 0 was asked for).
    public private(set) var outboundAddress: NIOCore.SocketAddress?
    public private(set) var inboundAddress: NIOCore.SocketAddress?
    public private(set) var adminAddress: NIOCore.SocketAddress?
    public private(set) var prometheusAddress: NIOCore.SocketAddress?

    private init(driver: SidecarDriver, configPath: String?, group: MultiThreadedEventLoopGroup, loopStalls: LoopStallMonitor) {
        self.driver = driver
        self.loopStalls = loopStalls
        self.configPath = configPath
        self.group = group
    }

    /// A sidecar whose config comes from a file.
    public static func start(configPath: String, settings: SidecarSettings, logger: Logger = Logger(label: "fsm.sidecar")) async throws -> SidecarProcess {
        try await start(configPath: configPath, controller: nil, settings: settings, logger: logger)
    }

    /// A sidecar whose config comes from the controller (it starts without one: `/ready` says 503
    /// and requests get no route until the first config arrives). With
    /// `PeerTransport.mutualTLSFromController` its certificate comes from the controller too: the
    /// start waits (up to `certificateWait`) for the first one.
    ///
    /// With a `cache` (created 0700 if needed) the sidecar keeps its last config and certificate
    /// there; when the controller does not answer at start it serves from them, stale
    /// (`runtime.config_stale`), and the controller's first answers replace them.
    public static func start(controller: ControllerEndpoint, settings: SidecarSettings, logger: Logger = Logger(label: "fsm.sidecar"),
                             certificateWait: Duration = .seconds(60), cache: SidecarCache? = nil) async throws -> SidecarProcess {
        try cache?.prepare()
        return try await start(configPath: nil, controller: controller, settings: settings, logger: logger, certificateWait: certificateWait, cache: cache)
    }

    /// A sidecar with a fixed config (the egress gateway's, `ProxyConfig.egressGateway`): applied
    /// at start, never re-read.
    public static func start(config: ProxyConfig, settings: SidecarSettings, logger: Logger = Logger(label: "fsm.sidecar")) async throws -> SidecarProcess {
        try await start(configPath: nil, controller: nil, settings: settings, logger: logger, fixedConfig: config)
    }

    private static func start(configPath: String?, controller: ControllerEndpoint?, settings: SidecarSettings, logger: Logger,
                              certificateWait: Duration = .seconds(60), cache: SidecarCache? = nil, fixedConfig: ProxyConfig? = nil) async throws -> SidecarProcess {
        var settings = settings
        // Metric labels: a controller-driven sidecar knows its pod.
        if let controller, settings.workload.pod.isEmpty { settings.workload.pod = controller.pod }
        if let controller, settings.workload.namespace.isEmpty { settings.workload.namespace = controller.namespace }
        let stalls = LoopStallMonitor()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1, metricsDelegate: stalls)
        let loop = group.next()
        let driver = SidecarDriver(eventLoop: loop, settings: settings, logger: logger)
        // Before anything runs on the loop for the driver (the submits below publish it there).
        driver.loopStalls = stalls
        let process = SidecarProcess(driver: driver, configPath: configPath, group: group, loopStalls: stalls)
        // One client for every request to the controller (config polls, certificates), on the sidecar's loop.
        let http = controller.map { _ in MeshHTTP.makeClient(eventLoopGroup: group) }
        process.controllerHTTP = http
        do {
            // Without a usable certificate a mTLS sidecar cannot talk to anyone: refuse to start.
            switch settings.peerTransport {
            case .mutualTLS(let files):
                let tls = try PeerTLS.load(files)
                try await loop.submit { driver.peerTLS = tls }.get()
                logger.info("workload certificate loaded", metadata: tls.logMetadata)
            case .mutualTLSFromController:
                guard let controller else {
                    throw PeerCertificateError(description: "a certificate from the controller needs a controller-driven sidecar")
                }
                let client = WorkloadCertificateClient(endpoint: controller, driver: driver, http: http!, cache: cache)
                let (tls, fromCache) = try await client.obtainFirst(within: certificateWait, now: Date())
                try await loop.submit {
                    driver.peerTLS = tls
                    driver.certificateFromCache = fromCache
                }.get()
                if !fromCache { logger.info("workload certificate issued by the controller", metadata: tls.logMetadata) }
                process.certificateClient = client
                client.startRenewing(after: tls, immediately: fromCache)
            case .insecurePlaintext:
                break
            }
            // A config file that is not there or not a config stops the start: there is no
            // last good config to keep yet.
            if let configPath { try await loop.submit { try process.loadFirstConfig(configPath) }.get() }
            if let fixedConfig {
                let result = try await loop.submit { driver.apply(fixedConfig) }.get()
                if case .rejected(let reason) = result { throw ConfigFileProblem(path: "(built in)", message: "the config is refused: \(reason)") }
            }
            let outbound = try await process.listen(.outbound, host: settings.listenAddress, port: settings.outboundPort)
            let inbound = try await process.listen(.inbound, host: settings.listenAddress, port: settings.inboundPort)
            let admin = try await process.listen(.admin, host: settings.adminListenAddress, port: settings.adminPort)
            let prometheus = try await process.listen(.prometheus, host: settings.listenAddress, port: settings.prometheusPort)
            let probes = try await process.listenForProbes()
            try await loop.submit {
                process.channels = [outbound, inbound, admin, prometheus] + probes
                process.outboundAddress = outbound.localAddress
                process.inboundAddress = inbound.localAddress
                process.adminAddress = admin.localAddress
                process.prometheusAddress = prometheus.localAddress
                // The config file (when there is one) and the certificate files (under mTLS).
                process.pollTask = loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                    process.reloadIfChanged(force: false)
                    process.reloadCertificatesIfChanged()
                }
            }.get()
        } catch {
            await process.certificateClient?.stop()
            try? await http?.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
        if let controller, let http {
            let client = ControllerConfigClient(endpoint: controller, driver: driver, http: http, cache: cache)
            process.configClient = client
            client.start()
        }
        logger.info("sidecar started", metadata: [
            "pod_ip": "\(settings.podIP)", "capture": "\(settings.capture.rawValue)", "outbound": "\(process.outboundAddress?.port ?? 0)",
            "inbound": "\(process.inboundAddress?.port ?? 0)", "admin": "\(process.adminAddress?.description ?? "")",
            "prometheus": "\(process.prometheusAddress?.port ?? 0)", "connection_limits": "\(settings.connectionLimits)",
            "probes": "\(settings.probes.map(\.argument).joined(separator: " "))",
            "config": "\(controller.map { "controller \($0)" } ?? configPath ?? (fixedConfig == nil ? "" : "built in"))",
        ])
        return process
    }

    /// A listener on `host:port`. Each accepted connection is first admitted against the
    /// listener's connection limit (over it, closed at once and counted), then gets its handlers
    /// (`SidecarDriver.configureAcceptedConnection`, or `install` where given).
    func listen(_ listener: ListenerKind, host: String, port: Int,
                install: (@Sendable (any Channel) throws -> Void)? = nil) async throws -> any Channel {
        let driver = driver
        return try await ServerBootstrap.dataPath(group: group, stalls: loopStalls)
            .childChannelInitializer { channel in
                // A failed initializer makes NIO close the socket before registering it.
                guard driver.admitConnection(on: listener, channel) else { return channel.eventLoop.makeFailedFuture(ListenerFull(listener: listener)) }
                return channel.eventLoop.makeCompletedFuture {
                    if let install { try install(channel) } else { try driver.configureAcceptedConnection(channel, listener: listener) }
                }
            }
            .bind(host: host, port: port)
            .get()
    }

    /// Re-reads the config file now, and the certificate files if they changed (what SIGHUP does).
    public func reload() {
        driver.eventLoop.execute {
            self.reloadIfChanged(force: true)
            self.reloadCertificatesIfChanged()
        }
    }

    /// Re-reads the config on SIGHUP (for the `fsm sidecar` process; one process per sidecar).
    public func reloadOnHangup() {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { [self] in reload() }
        source.resume()
        signalSource = source
    }

    /// The config file as the sidecar starts: read, decoded and applied, or a `ConfigFileProblem`.
    private func loadFirstConfig(_ path: String) throws(ConfigFileProblem) {
        driver.eventLoop.preconditionInEventLoop()
        let bytes: [UInt8]
        do {
            bytes = try InputFile.read(path, limit: ManifestLimits.maxFileBytes, directoryHint: "give the sidecar's config JSON file",
                                       tooLarge: { "the file has \($0) bytes, more than the \(ManifestLimits.maxFileBytes) a config may have" })
        } catch {
            throw ConfigFileProblem(path: path, message: error.message)
        }
        guard let text = String(bytes: bytes, encoding: .utf8) else { throw ConfigFileProblem(path: path, message: "not UTF-8 text") }
        let config: ProxyConfig
        do {
            config = try ProxyConfig(jsonText: text)
        } catch {
            throw ConfigFileProblem(path: path, message: "not a sidecar config: \(error)")
        }
        let version: String
        switch driver.apply(config) {
        case .applied(let applied): version = applied
        case .rejected(let reason): throw ConfigFileProblem(path: path, message: "the config is refused: \(reason)")
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        lastSeen = attributes.map { (modified: ($0[.modificationDate] as? Date) ?? .distantPast, size: ($0[.size] as? Int) ?? -1) }
        lastText = text
        driver.count(.configReloaded)
        driver.logger.info("config applied", metadata: ["version": "\(version)", "identity": "\(config.serviceIdentity)"])
    }

    private func reloadIfChanged(force: Bool) {
        driver.eventLoop.preconditionInEventLoop()
        guard let configPath else { return }
        let attributes = try? FileManager.default.attributesOfItem(atPath: configPath)
        let seen = attributes.map { (($0[.modificationDate] as? Date) ?? .distantPast, ($0[.size] as? Int) ?? -1) }
        if !force, let seen, let lastSeen, seen.0 == lastSeen.modified, seen.1 == lastSeen.size { return }
        lastSeen = seen.map { (modified: $0.0, size: $0.1) }
        guard let data = FileManager.default.contents(atPath: configPath), let text = String(data: data, encoding: .utf8) else {
            if force || seen != nil {
                driver.count(.configReloadFailed)
                driver.logger.warning("config file unreadable, keeping the last good config", metadata: ["path": "\(configPath)"])
            }
            return
        }
        if !force, text == lastText { return }
        lastText = text
        let config: ProxyConfig
        do {
            config = try ProxyConfig(jsonText: text)
        } catch {
            driver.count(.configReloadFailed)
            driver.logger.warning("config file rejected, keeping the last good config", metadata: ["path": "\(configPath)", "error": "\(error)"])
            return
        }
        switch driver.apply(config) {
        case .applied(let version):
            driver.count(.configReloaded)
            driver.logger.info("config applied", metadata: ["version": "\(version)", "identity": "\(config.serviceIdentity)"])
        case .rejected(let reason):
            driver.count(.configReloadFailed)
            driver.logger.warning("config rejected by the engine, keeping the last good config", metadata: ["reason": "\(reason)"])
        }
    }

    /// Re-reads the certificate files; a change that loads is used for new connections from now on.
    private func reloadCertificatesIfChanged() {
        driver.eventLoop.preconditionInEventLoop()
        guard case .mutualTLS(let files) = driver.settings.peerTransport, let current = driver.peerTLS else { return }
        let contents = files.paths.map { path in FileManager.default.contents(atPath: path).flatMap { String(data: $0, encoding: .utf8) } ?? "" }
        guard contents != current.fileContents, contents != rejectedCertificateContents else { return }
        do {
            let renewed = try PeerTLS.make(certificatePEM: contents[0], privateKeyPEM: contents[1], caPEM: contents[2])
            driver.peerTLS = renewed
            unsettledCertificateContents = nil
            rejectedCertificateContents = nil
            driver.count(.certificateReloaded)
            driver.logger.info("workload certificate renewed", metadata: renewed.logMetadata)
        } catch {
            // Files being rewritten one by one can be briefly inconsistent: only the same contents
            // failing on the next poll too count as a bad renewal.
            guard contents == unsettledCertificateContents else {
                unsettledCertificateContents = contents
                return
            }
            rejectedCertificateContents = contents
            driver.count(.certificateReloadFailed)
            driver.logger.warning("certificate files rejected, keeping the current certificate", metadata: ["error": "\(error)"])
        }
    }


    /// Runs `body` on the driver's loop (for tests and the admin tooling).
    public func onLoop<T: Sendable>(_ body: @escaping @Sendable (SidecarDriver) -> T) async throws -> T {
        let driver = driver
        return try await driver.eventLoop.submit { body(driver) }.get()
    }

    /// Graceful drain: stops accepting connections, lets the requests in progress finish (up to
    /// `drainTimeout`; answers say `connection: close`), then closes everything and stops the loop.
    public func shutdown(drainTimeout: TimeAmount = .seconds(5)) async {
        let first = stopLock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        signalSource?.cancel()
        await configClient?.stop()
        await certificateClient?.stop()
        try? await controllerHTTP?.shutdown()
        let loop = driver.eventLoop
        let channels = try? await loop.submit { () -> [any Channel] in
            self.pollTask?.cancel()
            self.driver.stopTracing()
            self.driver.stopRemoteLogging()
            self.driver.isDraining = true
            return self.channels
        }.get()
        for channel in channels ?? [] { try? await channel.close() }
        let deadline = driver.clock.now() + drainTimeout
        while driver.clock.now() < deadline {
            let busy = (try? await loop.submit { self.driver.requestsInProgress }.get()) ?? 0
            if busy == 0 { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        driver.settings.accessLog?.flush()
        driver.logger.info("sidecar stopped", metadata: ["pod_ip": "\(driver.settings.podIP)"])
        try? await group.shutdownGracefully()
    }

    /// Blocks until the listeners close (the `fsm sidecar` main loop).
    public func waitUntilClosed() async {
        for channel in channels { try? await channel.closeFuture.get() }
    }
}

/// The config file a sidecar is started with, unusable: `PATH: no such file`,
/// `PATH: not a sidecar config: Spec: missing`, in one line.
public struct ConfigFileProblem: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}
