import MeshModel
import SimCore

/// What the outside client (`from: external`) reaches: the FSM Gateway pods' LoadBalancer
/// addresses (after the pods and external hosts on the run's /24) and the external hosts.
extension RealCluster {
    /// The gateway pods the controller may program, in name order: `fsm-gateway-<ns>` for each
    /// namespace a Gateway is created in (by the manifests or a step), and `fsm-ingress` in the
    /// control plane's namespace when an Ingress of FSM's class (`pipy`) is (DECISIONS 190).
    static func gatewayPods(_ scenario: Scenario, controlPlaneNamespace: String) -> [(name: String, namespace: String)] {
        var resources = scenario.manifests
        for step in scenario.steps {
            if case .apply(let applied) = step.action { resources += applied }
        }
        var pods = Set(resources.filter { $0.kind == .gateway }.map(\.metadata.namespace)).map { (name: RealGateways.podName(namespace: $0), namespace: $0) }
        let ingress = resources.contains { resource in
            if case .ingress(let ingress) = resource { return ingress.ingressClassName == Ingress.fsmClassName }
            return false
        }
        if ingress { pods.append((RealGateways.ingressPodName, controlPlaneNamespace)) }
        return pods.sorted { $0.name < $1.name }
    }

    /// Where DNS outside the cluster sends the outside client for `host`, as the simulator
    /// resolves it (`SimEngine.resolveFromOutside`): a gateway pod's LoadBalancer Service name
    /// (`fsm-gateway-<ns>.<ns>` or `fsm-ingress.<control plane>`, with `.svc` and
    /// `.svc.cluster.local`) or an external host's name; nil for anything else (the real run does
    /// not route to cluster or literal addresses from outside).
    func resolveFromOutside(host: String) -> String? {
        if let pod = gatewayPod(serving: host) { return gatewayIPs[pod] }
        return externalIPs[host.lowercased()]
    }

    /// The gateway pod a host name names: `<pod>.<its namespace>[.svc[.cluster.local]]`.
    func gatewayPod(serving host: String) -> String? {
        let parts = host.lowercased().split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, gatewayNamespaces[String(parts[0])] == String(parts[1]) else { return nil }
        let rest = parts.dropFirst(2).joined(separator: ".")
        guard rest.isEmpty || rest == "svc" || rest == "svc.cluster.local" else { return nil }
        return String(parts[0])
    }
}
