import MeshModel

/// AccessControl (guides 7.2, demos.md 6.7): which clients outside the mesh a meshed pod's inbound
/// port admits. As FSM's catalog does it: a backend names a Service of the AccessControl's
/// namespace and its target port (no backends: every service of the namespace); a `Service` source
/// admits its endpoints' pod addresses (`/32`), an `IPRange` its CIDR, an `AuthenticatedPrincipal`
/// a client certificate naming it (`tls.skipClientCertValidation`: any).
extension ClusterState {
    mutating func setAccessControl(_ key: ResourceKey, _ control: AccessControl?, into effect: inout Effect) {
        if accessControls[key] != nil { accessControlsByNamespace[key.namespace]?.remove(key) }
        accessControls[key] = control
        if control != nil { accessControlsByNamespace[key.namespace, default: []].insert(key) }
        effect.touched.insert(.accessControls(key.namespace))
    }

    /// What the AccessControls admit to `ref`'s target port `target`; nil when none names it.
    func accessAdmission(to ref: ServiceRef, target: Int, dependencies: inout Set<Dependency>,
                         diagnostics: inout [ControllerDiagnostic]) -> (ranges: Set<String>, principals: Set<String>)? {
        dependencies.insert(.accessControls(ref.namespace))
        var ranges = Set<String>(), principals = Set<String>()
        var named = false
        for key in (accessControlsByNamespace[ref.namespace] ?? []).sorted() {
            guard let control = accessControls[key] else { continue }
            let backends = control.backends.filter { $0.name == ref.name && $0.port == target }
            guard control.backends.isEmpty || !backends.isEmpty else { continue }
            named = true
            let skipValidation = backends.contains(where: \.skipClientCertValidation)
            for source in control.sources {
                switch source.kind {
                case .ipRange:
                    ranges.insert(source.name)
                case .authenticatedPrincipal:
                    principals.insert(skipValidation ? InboundAccessControl.anyPrincipal : source.name)
                case .service:
                    let sourceRef = ServiceRef(namespace: source.namespace, name: source.name)
                    dependencies.insert(.serviceSpec(sourceRef))
                    dependencies.insert(.serviceEndpoints(sourceRef))
                    let addresses = sourceAddresses(of: sourceRef)
                    if addresses.isEmpty {
                        diagnostics.append(ControllerDiagnostic("E2003", "AccessControl \(key.namespace)/\(key.name): source Service \(sourceRef) has no endpoints; source ignored"))
                    }
                    ranges.formUnion(addresses.map { "\($0)/32" })
                }
            }
        }
        return named ? (ranges, principals) : nil
    }

    /// The pod addresses behind a Service (its selected pods, or its Endpoints object's addresses).
    private func sourceAddresses(of ref: ServiceRef) -> [String] {
        guard let service = services[ref] else { return [] }
        if service.selector.isEmpty {
            return (endpoints[ref]?.subsets ?? []).flatMap { $0.addresses.map(\.ip) }
        }
        return pods(selectedBy: service.selector, in: ref.namespace).compactMap { key in
            guard let pod = pods[key], let ip = pod.podIP, !ip.isEmpty, !ip.contains(":") else { return nil }
            return ip
        }
    }
}
