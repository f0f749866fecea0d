import MeshModel
import SimCore

/// What the outside client (`from: external`) reaches: the FSM Gateway pods' LoadBalancer
/// addresses (after the pods and external hosts on the run's /24) and the external hosts.
extension RealCluster {
    /// Namespaces a Gateway is created in, by the manifests or a step, in name order.
    static func gatewayNamespaces(_ scenario: Scenario) -> [String] {
        var resources = scenario.manifests
        for step in scenario.steps {
            if case .apply(let applied) = step.action { resources += applied }
        }
        return Set(resources.filter { $0.kind == .gateway }.map(\.metadata.namespace)).sorted()
    }

    /// Where DNS outside the cluster sends the outside client for `host`, as the simulator
    /// resolves it (`SimEngine.resolveFromOutside`): a gateway's LoadBalancer Service name
    /// (`fsm-gateway-<ns>.<ns>`, with `.svc` and `.svc.cluster.local`) or an external host's
    /// name; nil for anything else (the real run does not route to cluster or literal addresses
    /// from outside).
    func resolveFromOutside(host: String) -> String? {
        if let namespace = RealCluster.gatewayNamespace(serving: host) { return gatewayIPs[namespace] }
        return externalIPs[host.lowercased()]
    }

    /// The namespace whose gateway pod a host name names: `fsm-gateway-<ns>.<ns>[.svc[.cluster.local]]`.
    static func gatewayNamespace(serving host: String) -> String? {
        let parts = host.lowercased().split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "fsm-gateway-\(parts[1])" else { return nil }
        let rest = parts.dropFirst(2).joined(separator: ".")
        guard rest.isEmpty || rest == "svc" || rest == "svc.cluster.local" else { return nil }
        return String(parts[1])
    }
}
