import ArgumentParser
import Logging
import MeshSidecarCommand
import MeshModel
import MeshRuntime

/// `fsm egress-gateway`: the egress gateway of guides 3.8.2 (the Deployment `fsm/fsm-egress-gateway`)
/// on real sockets: the sidecar runtime with the gateway's own config (`ProxyConfig.egressGateway`),
/// its outbound listener on `--bind:--port` taking the tunnels (`CONNECT ip:port`) and
/// absolute-form HTTP requests meshed sidecars send it, and passing them to their destinations.
struct EgressGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "egress-gateway",
        abstract: "Run the egress gateway: meshed sidecars tunnel egress to it (CONNECT ip:port, or HTTP in absolute form) and it forwards to the destination.",
        discussion: "Point an EgressGateway's spec.global[] at the Service in front of this process. The admin port serves /ready, /stats, /stats/prometheus and /config_dump on loopback."
    )

    @Option(help: "Address the tunnel listener binds (the gateway pod's IP).")
    var bind: String

    @Option(help: "Tunnel port (FSM's egress gateway port).")
    var port = ProxyConfig.egressGatewayPort

    @Option(help: "Admin port on loopback: /ready, /stats, /stats/prometheus, /config_dump.")
    var adminPort = 15000

    @Option(help: "Prometheus port on --bind: /stats/prometheus only.")
    var prometheusPort = 15010

    @Option(help: "Tunnels and requests the listener holds at once; more are closed at once and counted. Default: derived from the descriptor limit.")
    var maxConnections: Int?

    @Option(help: "Seconds a request head (or the CONNECT) may take from its first byte; 0 disables.")
    var requestHeaderTimeout = 10.0

    @Option(help: "Seconds an idle connection stays open; 0 disables.")
    var idleTimeout = 300.0

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    @Option(help: "Where the access log goes: a file (appended, created 0600), or - for standard output.")
    var accessLog = "-"

    func validate() throws {
        _ = try LoggingSystem.level(logLevel)
        let ports = [("--port", port), ("--admin-port", adminPort), ("--prometheus-port", prometheusPort)]
        for (name, value) in ports where !(1...65535).contains(value) { throw ValidationError("\(name) must be between 1 and 65535, found \(value)") }
        if Set(ports.map(\.1)).count != ports.count { throw ValidationError("--port, --admin-port and --prometheus-port must differ") }
        if let maxConnections, !(1...10_000_000).contains(maxConnections) { throw ValidationError("--max-connections must be between 1 and 10000000") }
        for (name, value) in [("--request-header-timeout", requestHeaderTimeout), ("--idle-timeout", idleTimeout)] where !(0..<86_400).contains(value) {
            throw ValidationError("\(name) must be between 0 and 86400 seconds")
        }
    }

    func settings() throws -> SidecarSettings {
        var limits = ConnectionLimits.forThisProcess()
        if let maxConnections { limits.outbound = maxConnections }
        // The gateway talks to no peer sidecar: its inbound listener (an ephemeral port) admits nothing.
        var settings = SidecarSettings(podIP: bind, peerTransport: .insecurePlaintext, outboundPort: port, inboundPort: 0, adminPort: adminPort,
                                       workload: WorkloadLabels(kind: "Deployment", name: ProxyConfig.egressGatewayName),
                                       requestHeaderTimeout: SidecarSettings.timeout(seconds: requestHeaderTimeout),
                                       idleTimeout: SidecarSettings.timeout(seconds: idleTimeout), prometheusPort: prometheusPort, connectionLimits: limits)
        settings.accessLog = try accessLog == "-" ? AccessLogSink.standardOutput() : AccessLogSink.file(accessLog)
        return settings
    }

    func run() async throws {
        LoggingSystem.bootstrapStandardError(levelSwitch: LogLevelSwitch(.level(try LoggingSystem.level(logLevel))))
        let logger = Logger(label: "fsm.egress-gateway")
        let settings = try settings()
        try await CommandLifecycle.run("egress-gateway", logger: logger) {
            let process: SidecarProcess
            do {
                process = try await SidecarProcess.start(config: .egressGateway(listenAddress: bind), settings: settings, logger: logger)
            } catch where NetworkErrorText.isListenFailure(error) {
                throw CommandFailure(NetworkErrorText.listen(on: "\(bind):\(port)", error, hint: "is another egress gateway running? Give another --bind or --port"))
            }
            return {
                logger.info("draining before exit")
                await process.shutdown()
            }
        }
    }
}
