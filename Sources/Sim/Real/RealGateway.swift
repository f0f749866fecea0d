import Logging
import MeshControl
import MeshModel
import MeshProxy
import MeshRuntime
import NIOCore
import SimCore

/// The FSM Gateway pods of a real run, as the simulator places its own (`SimEngine+Gateway`): each
/// namespace with a Gateway the controller programs gets the pod `fsm-gateway-<ns>`, outside the
/// mesh, running a real `GatewayProcess` (the runtime `fsm gateway` runs) whose listeners bind the
/// pod's own loopback address (`RealCluster.gatewayIPs`) at the Gateway's ports. The run's
/// controller feeds it as it feeds the sidecars: after each change the new `GatewayConfig` is
/// applied, and its sockets bound, before the timeline goes on. A namespace with several Gateways
/// runs the first by name. The ingress controller's config (`<control plane>/fsm-ingress`, from
/// Ingresses of class `pipy`) runs the same way as the pod `fsm-ingress` (DECISIONS 190, 207). The gateway speaks plain HTTP to its backends, as the simulator's; to a
/// meshed pod it goes to the pod's sidecar inbound listener (local mode's capture), whose border
/// refuses it unless an AccessControl or IngressBackend admits it.
final class RealGateways {
    /// One gateway pod and the Gateway it serves (`namespace/name`).
    struct Running {
        let gateway: String
        let ip: String
        let process: GatewayProcess
        var version: String?
    }

    /// What one `sync` did: configs taken, rejections to note, and a gateway that cannot serve.
    struct SyncOutcome {
        var pushed = 0
        var notes: [String] = []
        /// A listener that could not be bound (or a pod that could not start): the run stops (exit 2).
        var failure: String?
    }

    private let scenarioName: String
    private let ips: [String: String]
    private let accessLog: AccessLogSink
    /// The meshed pods' addresses: the gateway's plain HTTP to them meets their border.
    private let meshedPodIPs: Set<String>
    /// The external hosts' names → their loopback addresses (a backend named by host).
    private let hosts: [String: String]
    private let logger: Logger
    /// By pod name (`fsm-gateway-<ns>`, `fsm-ingress`).
    private(set) var running: [String: Running] = [:]
    /// The gateway pods started during the run (running or stopped since).
    private var started: Set<String> = []

    init(scenarioName: String, cluster: RealCluster, meshedPodIPs: Set<String>, accessLog: AccessLogSink, logger: Logger) {
        self.scenarioName = scenarioName
        self.ips = cluster.gatewayIPs
        self.meshedPodIPs = meshedPodIPs
        self.hosts = cluster.externalIPs
        self.accessLog = accessLog
        self.logger = logger
    }

    /// The gateway pods' deployments (`fsm-gateway-<ns>`), as the simulator's report lists them.
    var deployments: [String] { started.sorted() }

    static func podName(namespace: String) -> String { "fsm-gateway-\(namespace)" }

    /// The controller's name for the ingress config, and its pod's (`GatewayBuilder.ingressName`).
    static let ingressPodName = "fsm-ingress"

    /// The pod that runs the config `name` (`namespace/name`), as the simulator names it.
    static func podName(of name: String) -> String {
        let namespace = String(name.prefix { $0 != "/" })
        return name == "\(namespace)/\(ingressPodName)" ? ingressPodName : podName(namespace: namespace)
    }

    /// Starts the pods of Gateways that got a config and applies each running gateway's current
    /// config when its version changed.
    func sync(_ controller: MeshController) async -> SyncOutcome {
        var outcome = SyncOutcome()
        for name in controller.gatewayNames {
            let pod = Self.podName(of: name)
            if let gateway = running[pod], gateway.gateway != name { continue }
            guard let config = controller.gatewayConfig(for: name), running[pod]?.version != config.version else { continue }
            var gateway: Running
            if let existing = running[pod] {
                gateway = existing
            } else {
                guard let started = await start(name, pod: pod, outcome: &outcome) else { return outcome }
                gateway = started
            }
            switch await gateway.process.apply(config) {
            case .applied:
                gateway.version = config.version
                running[pod] = gateway
                outcome.pushed += 1
                let unbound = await gateway.process.unboundSockets()
                if !unbound.isEmpty {
                    let sockets = unbound.map { "\(gateway.ip):\($0.port) (\($0.kind))" }.joined(separator: ", ")
                    outcome.failure = "scenario \(scenarioName): the Gateway \(name) cannot listen on \(sockets): the port is held by another process"
                    return outcome
                }
            case .rejected(let reason):
                outcome.notes.append("config rejected by \(pod): \(reason)")
            }
        }
        return outcome
    }

    private func start(_ name: String, pod: String, outcome: inout SyncOutcome) async -> Running? {
        guard let ip = ips[pod] else {
            outcome.failure = "scenario \(scenarioName): the Gateway \(name) has no pod address (a Gateway the real run did not foresee)"
            return nil
        }
        var settings = GatewaySettings(bindAddress: ip, adminAddress: ip, adminPort: RealGateways.adminPort, connectionLimit: RealGateways.connectionLimit)
        settings.accessLog = accessLog
        settings.meshedPodIPs = meshedPodIPs
        settings.hosts = hosts
        do {
            let process = try await GatewayProcess.start(settings: settings, logger: logger)
            let gateway = Running(gateway: name, ip: ip, process: process)
            running[pod] = gateway
            started.insert(pod)
            return gateway
        } catch {
            outcome.failure = "scenario \(scenarioName): the Gateway \(name) cannot listen on \(ip):\(RealGateways.adminPort) (admin): \(NetworkErrorText.reason(of: error))"
            return nil
        }
    }

    func stop() async {
        for gateway in running.values { await gateway.process.shutdown(drainTimeout: .seconds(1)) }
        running = [:]
    }

    static let adminPort = 15000
    /// Connections each listener holds: far more than a scenario's loads open at once.
    static let connectionLimit = 4096
}
