import MeshModel
import SimCore

/// What the outside client (`from: external`) reaches: the FSM Gateway pods' LoadBalancer
/// addresses (after the pods and external hosts on the run's /24) and the external hosts.
extension RealCluster {
    /// The gateway pods a run places, as `<pod>.<namespace>` in name order: `fsm-gateway-<ns>` for
    /// each namespace a Gateway is created in (by the manifests or a step), and the ingress
    /// controller `fsm-ingress` in the control plane's namespace when an Ingress is (`GatewayPods`).
    static func gatewayPods(_ scenario: Scenario, controlPlaneNamespace: String = RealCluster.controlPlaneNamespace) -> [String] {
        var resources = scenario.manifests
        for step in scenario.steps {
            if case .apply(let applied) = step.action { resources += applied }
        }
        var names = Set(resources.filter { $0.kind == .gateway }.map { "fsm-gateway-\($0.metadata.namespace).\($0.metadata.namespace)" })
        if resources.contains(where: { $0.kind == .ingress }) { names.insert("\(GatewayPods.ingressPodName).\(controlPlaneNamespace)") }
        return names.sorted()
    }

    /// The run's controller keeps its defaults (`MeshController`): the mesh `fsm` in `fsm-system`.
    static let controlPlaneNamespace = "fsm-system"

    /// Where DNS outside the cluster sends the outside client for `host`, as the simulator
    /// resolves it (`SimEngine.resolveFromOutside`): a gateway pod's LoadBalancer Service name
    /// (`fsm-gateway-<ns>.<ns>` or `fsm-ingress.<control plane>`, with `.svc` and
    /// `.svc.cluster.local`) or an external host's name; nil for anything else (the real run does
    /// not route to cluster or literal addresses from outside).
    func resolveFromOutside(host: String) -> String? {
        if let service = RealCluster.gatewayService(named: host), let ip = gatewayIPs[service] { return ip }
        return externalIPs[host.lowercased()]
    }

    /// `<pod>.<namespace>` of a LoadBalancer Service host name (`.svc` and `.svc.cluster.local` kept off).
    static func gatewayService(named host: String) -> String? {
        let parts = host.lowercased().split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return nil }
        let rest = parts.dropFirst(2).joined(separator: ".")
        guard rest.isEmpty || rest == "svc" || rest == "svc.cluster.local" else { return nil }
        return "\(parts[0]).\(parts[1])"
    }
}
