import MeshControl
import MeshModel
import NIOCore

/// The gateways as the controller computed them after a rescan: what a `GatewayProvisioner`
/// deploys (one workload per Gateway namespace, the listener ports) and the status it writes back.
public struct GatewaySnapshot: Sendable, Equatable {
    /// Every gateway config (Gateways of FSM's class, and the ingress's), by `namespace/name`.
    public var configs: [GatewayConfig]
    /// The conditions of FSM's GatewayClasses, Gateways (and listeners) and routes (per parent).
    public var statuses: [GatewayStatus]

    public init(configs: [GatewayConfig], statuses: [GatewayStatus]) {
        self.configs = configs
        self.statuses = statuses
    }

    /// Equal for equal config versions and statuses (a config's version hashes its content).
    public static func == (a: GatewaySnapshot, b: GatewaySnapshot) -> Bool {
        a.statuses == b.statuses && a.configs.map { [$0.gateway, $0.version] } == b.configs.map { [$0.gateway, $0.version] }
    }
}

/// Where the gateways go in a cluster: MeshKube's `KubeGatewayProvisioner` creates each Gateway
/// namespace's `fsm-gateway-<namespace>` Deployment, Service and credential, and writes the status
/// conditions. The controller decides what the gateways are; a provisioner only deploys them.
public protocol GatewayProvisioner: Sendable {
    /// Whether this replica writes now (in a cluster: the leader).
    var isActive: Bool { get }
    /// Takes a new snapshot (on the controller's loop: it must not block; the writes run off it).
    func provision(_ snapshot: GatewaySnapshot)
}

extension ControllerServer {
    /// Hands a changed gateway snapshot to the provisioner once the source has read the whole
    /// cluster (before, a Gateway's routes or Secrets may not be in yet); a replica that is not the
    /// leader hands nothing, and hands the whole snapshot again when it becomes one.
    func reconcileGateways(synced: Bool) {
        eventLoop.preconditionInEventLoop()
        guard let provisioner = settings.gatewayProvisioner, synced else { return }
        guard provisioner.isActive else {
            provisionedGateways = nil
            return
        }
        let controller = controller
        let snapshot = GatewaySnapshot(configs: controller.gatewayNames.compactMap { controller.gatewayConfig(for: $0) }, statuses: controller.gatewayStatuses)
        guard snapshot != provisionedGateways else { return }
        provisionedGateways = snapshot
        provisioner.provision(snapshot)
    }
}
