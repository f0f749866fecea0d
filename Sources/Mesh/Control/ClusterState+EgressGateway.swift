import MeshModel

/// The egress gateway (guides 3.8.2): with an EgressGateway, every meshed pod's config names the
/// gateway's endpoints (`Spec.EgressGateway`) and its sidecar sends egress there instead of to the
/// destination. The oldest EgressGateway is the mesh's (FSM has one global gateway); a later one
/// is reported and ignored. A gateway Service that is missing or has no ready endpoint leaves the
/// gateway in the config with no endpoint, so egress fails closed instead of leaving directly
/// (DECISIONS 194).
extension ClusterState {
    mutating func setEgressGateway(_ key: ResourceKey, _ gateway: EgressGateway?, into effect: inout Effect) {
        egressGateways[key] = gateway
        effect.touched.insert(.egressGateway)
    }

    /// The gateway for every meshed pod; nil without an EgressGateway.
    func egressGateway(dependencies: inout Set<Dependency>, diagnostics: inout [ControllerDiagnostic]) -> EgressGatewaySpec? {
        dependencies.insert(.egressGateway)
        let keys = egressGateways.keys.sorted { (creationOrder[$0] ?? 0, $0) < (creationOrder[$1] ?? 0, $1) }
        guard let first = keys.first, let gateway = egressGateways[first] else { return nil }
        for ignored in keys.dropFirst() {
            diagnostics.append(ControllerDiagnostic("E5017", "EgressGateway \(ignored.namespace)/\(ignored.name): the mesh already has EgressGateway \(first.namespace)/\(first.name); ignored"))
        }
        var addresses: [String] = []
        for backend in gateway.global {
            let ref = ServiceRef(namespace: backend.namespace, name: backend.service)
            dependencies.insert(.serviceSpec(ref))
            dependencies.insert(.serviceEndpoints(ref))
            guard let service = services[ref], let port = service.ports.first else {
                diagnostics.append(ControllerDiagnostic("E5017", "EgressGateway \(first.namespace)/\(first.name): Service \(ref) not found; egress through it fails"))
                continue
            }
            let found = endpoints(of: ref, port: port, diagnostics: &diagnostics).map(\.address)
            if found.isEmpty {
                diagnostics.append(ControllerDiagnostic("E5017", "EgressGateway \(first.namespace)/\(first.name): Service \(ref) has no ready endpoint; egress through it fails"))
            }
            addresses += found
        }
        let names = gateway.global.map { "\($0.namespace)/\($0.service)" }.joined(separator: ",")
        return EgressGatewaySpec(service: names, endpoints: addresses, mode: gateway.global.first?.mode ?? .http2tunnel)
    }
}
