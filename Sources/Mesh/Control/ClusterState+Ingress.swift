import MeshModel

/// IngressBackend (F2-001): the inbound ports of a served Service that an IngressBackend of its
/// namespace names (backend name = Service, port = target port) admit the backend's sources.
extension ClusterState {
    func admitIngress(to matches: inout [Int: InboundTrafficMatch], served: [ServiceRef], dependencies: inout Set<Dependency>) {
        for namespace in Set(served.map(\.namespace)) { dependencies.insert(.ingressBackends(namespace)) }
        for ref in served {
            for key in (ingressBackendsByNamespace[ref.namespace] ?? []).sorted() {
                guard case .ingressBackend(let policy)? = gatewayObjects[key] else { continue }
                for backend in policy.backends where backend.name == ref.name {
                    guard var match = matches[backend.port] else { continue }
                    match.ingress = merged(match.ingress, admission(policy, key: key, backend: backend, dependencies: &dependencies))
                    matches[backend.port] = match
                }
            }
        }
    }

    private func admission(_ policy: IngressBackend, key: ResourceKey, backend: IngressBackendTarget, dependencies: inout Set<Dependency>) -> IngressAdmission {
        var ranges: [String] = []
        var principals: [String] = []
        for source in policy.sources {
            switch source {
            case .ipRange(let range): ranges.append(range)
            case .authenticatedPrincipal(let name): principals.append(name)
            case .service(let namespace, let name):
                let ref = ServiceRef(namespace: namespace, name: name)
                dependencies.insert(.serviceSpec(ref))
                dependencies.insert(.serviceEndpoints(ref))
                ranges += addresses(of: ref).map { $0.contains(":") ? "\($0)/128" : "\($0)/32" }
            }
        }
        return IngressAdmission(policies: ["\(key.namespace)/\(key.name)"], protocol: backend.protocol, skipClientCertValidation: backend.skipClientCertValidation,
                                sourceIPRanges: Set(ranges).sorted(), principals: Set(principals).sorted())
    }

    /// The IPs of a Service's ready endpoints (any port).
    private func addresses(of ref: ServiceRef) -> [String] {
        guard let service = services[ref] else { return [] }
        var ignored: [ControllerDiagnostic] = []
        return service.ports.flatMap { endpoints(of: ref, port: $0, diagnostics: &ignored) }.map { endpoint in
            guard let colon = endpoint.address.lastIndex(of: ":") else { return endpoint.address }
            return String(endpoint.address[..<colon])
        }
    }

    /// Two IngressBackends on one port: either admits (sources united; https if either asks for it).
    private func merged(_ a: IngressAdmission?, _ b: IngressAdmission) -> IngressAdmission {
        guard let a else { return b }
        return IngressAdmission(policies: Set(a.policies + b.policies).sorted(), protocol: a.protocol == .https || b.protocol == .https ? .https : .http,
                                skipClientCertValidation: a.skipClientCertValidation && b.skipClientCertValidation,
                                sourceIPRanges: Set(a.sourceIPRanges + b.sourceIPRanges).sorted(), principals: Set(a.principals + b.principals).sorted())
    }
}
