import ArgumentParser
import Glibc
import Logging
import MeshIdentity
import MeshInterceptor
import MeshModel
import MeshRedirect
import MeshRuntime

public struct SidecarCommand: AsyncParsableCommand, Sendable {
    public static let configuration = CommandConfiguration(
        commandName: "sidecar",
        abstract: "Run a sidecar: in local mode (apps send plain HTTP to the outbound listener, Host names the service) or under iptables or eBPF capture."
    )

    @Option(help: "ProxyConfig JSON file (the config_dump shape); re-read when it changes or on SIGHUP.")
    var config: String?

    @Option(help: "The controller's URL (http://host:port): the config is long-polled from it instead of read from --config; without --cert/--key/--ca it also issues the workload certificate.")
    var controller: String?

    @Option(help: "The pod this sidecar runs for, namespace/name (with --controller).")
    var pod: String?

    @Option(help: "File holding the pod's credential (from `fsm up` or `fsm credential`), sent on every request to the controller; re-read for each request.")
    var credentialFile: String?
    @Option(help: "With --controller: keep the last good config and certificate here (a 0700 directory, files 0600) and start from them, marked stale, when the controller does not answer (give --pod-ip too).")
    var cacheDir: String?

    @Option(help: "The pod's IP: every listener binds it in local mode (use distinct 127.x.y.z addresses for pods on one machine; under --capture iptables or ebpf they bind 0.0.0.0). With --controller it defaults to the address the controller gave the pod.")
    var podIP: String?

    @Option(help: "Outbound listener port.")
    var outboundPort = 15001

    @Option(help: "Inbound listener port (also the port peers are reached on).")
    var inboundPort = 15003

    @Option(help: "Admin port: /ready, /stats, /stats/prometheus, /config_dump (on loopback, see --admin-address).")
    var adminPort = 15000

    @Option(help: "Address the admin port binds. Default: loopback (the pod IP in local mode when it is a 127.x address, else 127.0.0.1).")
    var adminAddress: String?

    @Option(help: "Prometheus port on the pod address: /stats/prometheus only.")
    var prometheusPort = 15010

    @Option(help: "Connections the outbound listener holds at once; more are closed at once and counted. Default: derived from the descriptor limit (RLIMIT_NOFILE).")
    var maxOutboundConnections: Int?

    @Option(help: "Connections the inbound listener holds at once (default: derived from RLIMIT_NOFILE).")
    var maxInboundConnections: Int?

    @Option(help: "Connections the admin port holds at once (default: derived from RLIMIT_NOFILE, at most 64).")
    var maxAdminConnections: Int?

    @Option(help: "Connections the Prometheus port holds at once (default: derived from RLIMIT_NOFILE, at most 64).")
    var maxPrometheusConnections: Int?

    @Option(help: "Seconds a peer has from connecting to completing the TLS handshake on the inbound listener; 0 disables.")
    var tlsHandshakeTimeout = 10.0

    @Option(help: "Workload certificate (PEM, leaf first) presented to peer sidecars; re-read when it changes.")
    var cert: String?

    @Option(help: "The workload certificate's private key (PEM).")
    var key: String?

    @Option(help: "The mesh root CA certificate (PEM): peers' certificates must chain to it.")
    var ca: String?

    @Flag(help: "Talk to peer sidecars in plain HTTP with the identity in a header (forgeable; tests only).")
    var insecurePlaintextPeers = false

    @Option(help: "How app traffic reaches the sidecar: local (apps address the outbound listener), iptables (the pod's nat rules redirect it; the listeners bind 0.0.0.0 and SO_ORIGINAL_DST names the destination) or ebpf (`fsm interceptor`'s programs redirect it and answer SO_ORIGINAL_DST; started as root, the sidecar switches to --proxy-uid).")
    var capture: CaptureMode = .local

    @Flag(help: "With --capture iptables: load the nat rules into this network namespace (iptables-restore --noflush, needs root), then switch to --proxy-uid.")
    var applyIptables = false

    @Flag(help: "Print the iptables-restore input for this sidecar's ports and --proxy-uid, and exit.")
    var printIptables = false

    @Option(help: "The uid the sidecar runs as under iptables or eBPF capture: the rules (and the interceptor) let its traffic through.")
    var proxyUID = RedirectSettings.defaultProxyUID

    @Option(help: "Seconds a request head may take from its first byte (then 408), and a new connection may stay silent before its first byte; 0 disables.")
    var requestHeaderTimeout = 10.0

    @Option(help: "Seconds an idle downstream connection stays open; 0 disables.")
    var idleTimeout = 300.0

    @Option(help: "The pod's workload kind for metric labels (source_kind/destination_kind), e.g. Deployment.")
    var workloadKind = ""

    @Option(help: "The pod's workload name for metric labels (source_name/destination_name).")
    var workloadName = ""

    @Option(help: "A health probe the injector rewrote, served on 15901-15904: <liveness|readiness|startup>=<http|https|tcp>:<port>:<timeout seconds>[:<path>] (repeatable).")
    var probe: [String] = []

    @Option(help: "Log level: trace, debug, info, notice, warn (or warning), error, critical. Default: the config's SidecarLogLevel (MeshConfig spec.sidecar.logLevel), followed as it changes; info until the first config.")
    var logLevel: String?

    @Option(help: "Where the access log goes while MeshConfig observability.remoteLogging.enable is on: a file (appended, created 0600), or - for standard output.")
    var accessLog = "-"

    /// The `--probe` arguments, parsed.
    func probes() throws -> [SidecarProbe] {
        do {
            return try probe.map { argument throws(SidecarProbeError) in try SidecarProbe(argument: argument) }
        } catch {
            throw ValidationError("\(error)")
        }
    }

    public init() {}

    public func validate() throws {
        if printIptables { return }
        if let logLevel { _ = try LoggingSystem.level(logLevel) }
        _ = try probes()
        if applyIptables && capture != .iptables { throw ValidationError("--apply-iptables needs --capture iptables") }
        if cacheDir != nil && controller == nil { throw ValidationError("--cache-dir needs --controller (a --config file is its own cache)") }
        for (name, value) in [("--request-header-timeout", requestHeaderTimeout), ("--idle-timeout", idleTimeout),
                              ("--tls-handshake-timeout", tlsHandshakeTimeout)] {
            guard value >= 0, value < 86_400 else { throw ValidationError("\(name) must be between 0 and 86400 seconds") }
        }
        for (name, value) in [("--max-outbound-connections", maxOutboundConnections), ("--max-inbound-connections", maxInboundConnections),
                              ("--max-admin-connections", maxAdminConnections), ("--max-prometheus-connections", maxPrometheusConnections)] {
            if let value, value < 1 || value > 10_000_000 { throw ValidationError("\(name) must be between 1 and 10000000") }
        }
        let ports = [("--outbound-port", outboundPort), ("--inbound-port", inboundPort), ("--admin-port", adminPort), ("--prometheus-port", prometheusPort)]
        for (name, port) in ports where !(1...65535).contains(port) { throw ValidationError("\(name) must be between 1 and 65535") }
        if Set(ports.map(\.1)).count != ports.count { throw ValidationError("--outbound-port, --inbound-port, --admin-port and --prometheus-port must differ") }
        switch (config, controller) {
        case (nil, nil): throw ValidationError("give --config FILE or --controller URL --pod NAMESPACE/NAME")
        case (.some, .some): throw ValidationError("--config and --controller exclude each other")
        case (nil, .some(let url)):
            guard let pod else { throw ValidationError("--controller needs --pod NAMESPACE/NAME") }
            if ControllerEndpoint(url: url, pod: pod) == nil {
                throw ValidationError("--controller must be http://host:port and --pod namespace/name")
            }
            guard let credentialFile else {
                throw ValidationError("--controller needs --credential-file FILE: the pod's credential (written by `fsm up`, or by `fsm credential --pod \(pod)`)")
            }
            do {
                _ = try ControllerCredential.file(credentialFile).token()
            } catch {
                throw ValidationError("--credential-file: \(error)")
            }
        case (.some, nil):
            if podIP == nil { throw ValidationError("--config needs --pod-ip") }
            if credentialFile != nil { throw ValidationError("--credential-file goes with --controller") }
        }
        let given = [cert, key, ca].compactMap { $0 }.count
        if insecurePlaintextPeers {
            guard given == 0 else { throw ValidationError("--insecure-plaintext-peers and --cert/--key/--ca exclude each other") }
        } else if given == 0, controller != nil {
            // The controller issues the certificate.
        } else if given != 3 {
            throw ValidationError("sidecars talk mTLS: give --controller (it issues the certificate), or --cert, --key and --ca (for example from `fsm ca issue`), or --insecure-plaintext-peers for a test without identity")
        }
    }

    /// The limits derived from this process's descriptor limit, with the ones given replacing them.
    func connectionLimits() -> ConnectionLimits {
        var limits = ConnectionLimits.forThisProcess()
        if let maxOutboundConnections { limits.outbound = maxOutboundConnections }
        if let maxInboundConnections { limits.inbound = maxInboundConnections }
        if let maxAdminConnections { limits.admin = maxAdminConnections }
        if let maxPrometheusConnections { limits.prometheus = maxPrometheusConnections }
        return limits
    }

    /// The nat rules for this sidecar's listener ports and proxy uid.
    func redirectRules() throws -> RedirectRules {
        do {
            return try RedirectSettings(proxyUID: proxyUID, outboundListenerPort: outboundPort, inboundListenerPort: inboundPort).rules
        } catch {
            throw ValidationError("\(error)")
        }
    }

    public func run() async throws {
        if printIptables {
            print(try redirectRules().restoreScript, terminator: "")
            return
        }
        if applyIptables {
            // Before any thread of the sidecar starts: rules as root, then the proxy uid for good.
            try IptablesCapture.apply(try redirectRules())
            try IptablesCapture.dropPrivileges(to: proxyUID)
        }
        // Under eBPF capture: ask the kernel (as root) whether an interceptor captures this cgroup,
        // then run as the proxy uid, whose connections the interceptor leaves alone.
        let ebpfStatus = capture == .ebpf ? InterceptorAttachment.currentProcess() : nil
        if capture == .ebpf, geteuid() == 0 { try IptablesCapture.dropPrivileges(to: proxyUID) }
        // An explicit --log-level holds; without one the config's level applies (DECISIONS).
        let levelSwitch = LogLevelSwitch(.level(try logLevel.map { try LoggingSystem.level($0) } ?? .info))
        LoggingSystem.bootstrapStandardError(levelSwitch: levelSwitch)
        var logger = Logger(label: "fsm.sidecar")
        if let ebpfStatus { Self.report(ebpfStatus, proxyUID: proxyUID, logger: logger) }
        let endpoint = controller.flatMap { url in pod.flatMap { ControllerEndpoint(url: url, pod: $0, credential: credentialFile.map(ControllerCredential.file)) } }
        var address = podIP
        if address == nil, let endpoint { address = try await Self.askPodIP(endpoint, logger: logger) }
        guard let address else { throw ValidationError("--pod-ip is required") }
        logger[metadataKey: "pod_ip"] = "\(address)"
        let transport: PeerTransport
        if let cert, let key, let ca {
            transport = .mutualTLS(PeerCertificateFiles(certificatePath: cert, privateKeyPath: key, caPath: ca))
        } else if !insecurePlaintextPeers {
            transport = .mutualTLSFromController
        } else {
            logger.warning("peer traffic is plaintext and identities are taken from a header: for tests only")
            transport = .insecurePlaintext
        }
        let workload = WorkloadLabels(kind: workloadKind, name: workloadName)
        var settings = SidecarSettings(podIP: address, peerTransport: transport, outboundPort: outboundPort, inboundPort: inboundPort, adminPort: adminPort,
                                       workload: workload,
                                       capture: capture, requestHeaderTimeout: SidecarSettings.timeout(seconds: requestHeaderTimeout), idleTimeout: SidecarSettings.timeout(seconds: idleTimeout),
                                       prometheusPort: prometheusPort,
                                       adminAddress: adminAddress, connectionLimits: connectionLimits(),
                                       tlsHandshakeTimeout: SidecarSettings.timeout(seconds: tlsHandshakeTimeout))
        settings.probes = try probes()
        settings.accessLog = try accessLog == "-" ? AccessLogSink.standardOutput() : AccessLogSink.file(accessLog)
        if logLevel == nil { settings.logLevelFromConfig = levelSwitch }
        if !SidecarSettings.isLoopback(settings.adminListenAddress) {
            logger.warning("the admin port is reachable beyond loopback", metadata: ["admin_address": "\(settings.adminListenAddress)"])
        }
        // SIGHUP re-reads the config file (if any) and the certificate files; SIGTERM / SIGINT drain
        // the requests in progress (up to 5 s), then the command exits.
        try await CommandLifecycle.run("sidecar", logger: logger) { [self, settings, logger] in
            let process = try await startProcess(settings: settings, endpoint: endpoint, address: address, logger: logger)
            process.reloadOnHangup()
            return {
                logger.info("draining before exit")
                await process.shutdown()
            }
        }
    }

    private func startProcess(settings: SidecarSettings, endpoint: ControllerEndpoint?, address: String, logger: Logger) async throws -> SidecarProcess {
        let process: SidecarProcess
        do {
            if let endpoint {
                do {
                    process = try await SidecarProcess.start(controller: endpoint, settings: settings, logger: logger, cache: cacheDir.map(SidecarCache.init))
                } catch let error as SecretFileError {
                    throw ValidationError("--cache-dir: \(error)")
                }
            } else {
                do {
                    process = try await SidecarProcess.start(configPath: config ?? "", settings: settings, logger: logger)
                } catch let problem as ConfigFileProblem {
                    throw CommandFailure("--config \(problem); the sidecar needs a config to start")
                }
            }
        } catch where NetworkErrorText.isListenFailure(error) {
            let ports = [outboundPort, inboundPort, adminPort].map(String.init).joined(separator: ", ")
            throw CommandFailure(NetworkErrorText.listen(on: "\(address) (ports \(ports))", error, hint: "is another sidecar running for this pod IP? Stop it or give --pod-ip another address"))
        }
        return process
    }
}

extension SidecarCommand {
    /// What the sidecar knows about its eBPF capture at start, as one log line.
    static func report(_ status: InterceptorAttachment.Status, proxyUID: Int, logger: Logger) {
        switch status {
        case .captured(let cgroup):
            logger.info("eBPF capture is in force for this sidecar's cgroup", metadata: ["cgroup": "\(cgroup)"])
        case .notCaptured(let cgroup):
            logger.warning("no fsm interceptor captures this sidecar's cgroup yet: the pod's connections go straight to their destinations until one does", metadata: ["cgroup": "\(cgroup)"])
        case .unknown(let reason):
            logger.warning("cannot tell whether an fsm interceptor captures this sidecar", metadata: ["reason": "\(reason)"])
        }
        if geteuid() != uid_t(proxyUID) {
            logger.warning("the sidecar does not run as the proxy uid: the interceptor must know it by its cgroup (sidecarCgroup), or its own connections are captured", metadata: ["uid": "\(geteuid())", "proxy_uid": "\(proxyUID)"])
        }
    }

    /// The pod's address as the controller assigned it (`GET /v1/pods/<ns>/<name>`); retried for
    /// up to a minute while the controller is not up yet or does not know the pod.
    static func askPodIP(_ endpoint: ControllerEndpoint, logger: Logger) async throws -> String {
        let path = "/v1/pods/\(endpoint.namespace)/\(endpoint.pod)"
        var lastProblem = ""
        for attempt in 0..<120 {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(500)) }
            do {
                let response = try await MeshHTTP.request(host: endpoint.host, port: endpoint.port, path: path,
                                                                  headers: try endpoint.credential.map { [("authorization", "Bearer \(try $0.token())")] } ?? [])
                if response.status == 200, let value = try? JSONValue(parsing: response.body), case .string(let ip)? = value["ip"] {
                    return ip
                }
                lastProblem = "status \(response.status): \(response.body.prefix(200))"
            } catch {
                lastProblem = NetworkErrorText.reason(of: error)
            }
            if attempt == 0 { logger.info("waiting for the controller to know the pod", metadata: ["controller": "\(endpoint)", "problem": "\(lastProblem)"]) }
        }
        throw ValidationError("the controller at \(endpoint) gave no address for the pod: \(lastProblem)")
    }
}

extension CaptureMode: ExpressibleByArgument {}
