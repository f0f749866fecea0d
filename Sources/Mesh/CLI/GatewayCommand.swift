import ArgumentParser
import Logging
import MeshSidecarCommand
import MeshRuntime

/// `fsm gateway`: FSM Gateway for one Gateway resource, on real sockets. Its config (listeners,
/// routes, certificates, policies) comes from the controller with the gateway's credential; it
/// binds a socket per listener port and re-binds as the config changes.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run FSM Gateway for one Gateway: HTTP/1.1, HTTP/2 and gRPC, TLS termination by SNI, TLS passthrough, TCP and UDP listeners as the controller configures them.",
        discussion: "The credential comes from `fsm credential --gateway NAMESPACE/NAME --out FILE`. Instead of a controller, --config FILE gives a fixed GatewayConfig (JSON, as the controller serves it; read once at start). The admin port serves /healthz, /ready, /metrics, /stats and /config."
    )

    @Option(help: "The controller's URL (http://host:port).")
    var controller: String?

    @Option(help: "The Gateway this process serves, namespace/name.")
    var gateway: String?

    @Option(help: "File holding the gateway's credential (from `fsm credential --gateway`), sent on every request to the controller; re-read for each request.")
    var credentialFile: String?

    @Option(help: ArgumentHelp("A fixed GatewayConfig (JSON, as the controller serves it), applied at start instead of polling a controller; it may hold private keys: keep it 0600.", valueName: "FILE"))
    var config: String?

    @Option(help: "Address every listener of the config binds.")
    var bind = "0.0.0.0"

    @Option(help: "Admin port: /healthz, /ready, /metrics, /stats, /config.")
    var adminPort = 15000

    @Option(help: "Address the admin port binds.")
    var adminAddress = "127.0.0.1"

    @Option(help: "Connections each listener holds at once (UDP: client sessions). Default: derived from the descriptor limit.")
    var maxConnections: Int?

    @Option(help: "Seconds a request head may take from its first byte (then 408).")
    var requestHeaderTimeout = 10.0

    @Option(help: "Seconds an idle downstream connection stays open.")
    var idleTimeout = 300.0

    @Option(help: "Seconds a TLS client has from the accept to finish its handshake (for passthrough: to send its ClientHello).")
    var tlsHandshakeTimeout = 10.0

    @Option(help: "Seconds a UDP client's session lives without a datagram either way.")
    var udpIdleTimeout = 60.0

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    func validate() throws {
        try validateSource()
        if !(1...65535).contains(adminPort) { throw ValidationError("--admin-port must be 1-65535, found \(adminPort)") }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be at least 1, found \(maxConnections)") }
        for (name, value) in [("--request-header-timeout", requestHeaderTimeout), ("--idle-timeout", idleTimeout),
                              ("--tls-handshake-timeout", tlsHandshakeTimeout), ("--udp-idle-timeout", udpIdleTimeout)] where value < 0 {
            throw ValidationError("\(name) must be zero or more seconds, found \(value)")
        }
    }

    /// Exactly one source of config: the controller (with the Gateway's name and credential) or a file.
    func validateSource() throws {
        if config != nil {
            if controller != nil || gateway != nil || credentialFile != nil {
                throw ValidationError("--config and --controller/--gateway/--credential-file exclude each other")
            }
            return
        }
        guard let controller, let gateway, let credentialFile else {
            throw ValidationError("give --controller URL --gateway NAMESPACE/NAME --credential-file FILE, or --config FILE")
        }
        if endpoint() == nil { throw ValidationError("--controller must be http://host:port and --gateway namespace/name, found '\(controller)' and '\(gateway)'") }
        do {
            _ = try ControllerCredential.file(credentialFile).token()
        } catch {
            throw ValidationError("--credential-file: \(error)")
        }
    }

    func endpoint() -> GatewayEndpoint? {
        guard let controller, let gateway, let credentialFile else { return nil }
        return GatewayEndpoint(url: controller, gateway: gateway, credential: .file(credentialFile))
    }

    func settings() -> GatewaySettings {
        var settings = GatewaySettings(bindAddress: bind, adminAddress: adminAddress, adminPort: adminPort,
                                       requestHeaderTimeout: SidecarSettings.timeout(seconds: requestHeaderTimeout),
                                       idleTimeout: SidecarSettings.timeout(seconds: idleTimeout),
                                       tlsHandshakeTimeout: SidecarSettings.timeout(seconds: tlsHandshakeTimeout),
                                       udpIdleTimeout: SidecarSettings.timeout(seconds: udpIdleTimeout))
        if let maxConnections { settings.connectionLimit = maxConnections }
        return settings
    }

    func run() async throws {
        let levelSwitch = LogLevelSwitch(.level(try LoggingSystem.level(logLevel)))
        LoggingSystem.bootstrapStandardError(levelSwitch: levelSwitch)
        let logger = Logger(label: "fsm.gateway")
        let fixed = try config.map { path in try Self.loadConfig(path) }
        let endpoint = endpoint()
        if fixed == nil && endpoint == nil { throw ValidationError("--controller and --gateway are malformed") }
        let settings = settings()
        try await CommandLifecycle.run("gateway", logger: logger) {
            let process: GatewayProcess
            do {
                if let endpoint {
                    process = try await GatewayProcess.start(settings: settings, controller: endpoint, logger: logger)
                } else {
                    process = try await GatewayProcess.start(settings: settings, logger: logger)
                }
            } catch where NetworkErrorText.isListenFailure(error) {
                throw CommandFailure(NetworkErrorText.listen(on: "\(settings.adminAddress):\(settings.adminPort)", error,
                                                             hint: "is another gateway running? Give another --admin-port"))
            }
            if let fixed, let path = config { try await Self.applyFixed(fixed, path: path, to: process, logger: logger) }
            return {
                logger.info("draining before exit")
                await process.shutdown()
            }
        }
    }
}
