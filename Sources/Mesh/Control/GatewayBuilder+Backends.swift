import MeshModel

/// References a route or a listener makes, resolved: backend Services to their endpoints, the
/// mirror's backend, certificate Secrets to PEM. A reference that does not resolve sets the
/// ResolvedRefs condition (BackendNotFound, RefNotPermitted, InvalidKind,
/// InvalidCertificateRef) and is left out; the others still serve.
extension GatewayBuilder {
    /// One rule of a route with its backends and filters resolved.
    struct ResolvedRule: Sendable {
        var matches: [GatewayHTTPRouteMatch]
        var grpcMatches: [GatewayGRPCRouteMatch]
        var filters: [GatewayConfig.Filter]
        var backends: [GatewayConfig.Backend]

        /// One config rule per match; a rule without matches matches everything (`PathPrefix /`).
        func entries(route: String, ruleIndex: Int) -> [GatewayConfig.Rule] {
            if !grpcMatches.isEmpty {
                return grpcMatches.map { GatewayConfig.Rule(route: route, ruleIndex: ruleIndex, grpcMatch: $0, filters: filters, backends: backends) }
            }
            let matches = matches.isEmpty ? [GatewayHTTPRouteMatch()] : matches
            return matches.map { GatewayConfig.Rule(route: route, ruleIndex: ruleIndex, match: $0, filters: filters, backends: backends) }
        }
    }

    func resolveRules(_ route: GatewayRoute, routeKey: ResourceKey, condition: inout GatewayCondition, services: inout Set<ServiceRef>) -> [ResolvedRule] {
        route.rules.map { rule in
            var filters: [GatewayConfig.Filter] = []
            for filter in rule.filters {
                if let resolved = resolveFilter(filter, namespace: routeKey.namespace, condition: &condition, services: &services) { filters.append(resolved) }
            }
            var backends: [GatewayConfig.Backend] = []
            for ref in rule.backendRefs {
                guard var backend = resolveBackend(ref.reference, port: ref.port, namespace: routeKey.namespace, condition: &condition, services: &services) else { continue }
                backend.weight = ref.weight
                if backend.weight > 0 { backends.append(backend) }
            }
            return ResolvedRule(matches: rule.matches, grpcMatches: rule.grpcMatches, filters: filters, backends: backends)
        }
    }

    private func resolveFilter(_ filter: GatewayHTTPFilter, namespace: String, condition: inout GatewayCondition, services: inout Set<ServiceRef>) -> GatewayConfig.Filter? {
        switch filter {
        case .requestHeaderModifier(let m): return .requestHeaderModifier(m)
        case .responseHeaderModifier(let m): return .responseHeaderModifier(m)
        case .requestRedirect(let r): return .requestRedirect(r)
        case .urlRewrite(let r): return .urlRewrite(r)
        case .requestMirror(let reference, let port):
            return resolveBackend(reference, port: port, namespace: namespace, condition: &condition, services: &services).map { .requestMirror($0) }
        }
    }

    /// A Service port of the route's namespace with its ready endpoints; a name with a dot (no
    /// Service can have one) is an external host (F2-018's `httpbin.org`).
    func resolveBackend(_ reference: GatewayObjectReference, port: Int?, namespace: String, condition: inout GatewayCondition, services: inout Set<ServiceRef>) -> GatewayConfig.Backend? {
        func refuse(_ reason: String, _ message: String) -> GatewayConfig.Backend? {
            if condition.status == .true { condition = GatewayCondition(type: "ResolvedRefs", status: .false, reason: reason, message: message) }
            return nil
        }
        guard reference.group.isEmpty, reference.kind == "Service" else {
            return refuse("InvalidKind", "backend \(reference.name): kind \(reference.kind) in group \"\(reference.group)\" is not a Service")
        }
        guard let port else { return refuse("BackendNotFound", "backend \(reference.name) names no port") }
        if reference.name.contains(".") {
            return GatewayConfig.Backend(service: reference.name, port: port, endpoints: ["\(reference.name):\(port)"], external: true)
        }
        guard reference.namespace == namespace else {
            return refuse("RefNotPermitted", "backend \(reference.namespace)/\(reference.name) is in another namespace; no ReferenceGrant allows it")
        }
        let ref = ServiceRef(namespace: reference.namespace, name: reference.name)
        services.insert(ref)
        guard let service = cluster.services[ref] else {
            return refuse("BackendNotFound", "Service \(reference.namespace)/\(reference.name) does not exist")
        }
        guard let servicePort = service.ports.first(where: { $0.port == port }) else {
            return refuse("BackendNotFound", "Service \(reference.namespace)/\(reference.name) has no port \(port)")
        }
        var ignored: [ControllerDiagnostic] = []
        let endpoints = cluster.endpoints(of: ref, port: servicePort, diagnostics: &ignored).map(\.address)
        return GatewayConfig.Backend(service: "\(ref.namespace)/\(ref.name)", port: port, endpoints: endpoints)
    }

    // MARK: Secrets

    /// The listener's TLS with its certificates; a bad reference adds a ResolvedRefs condition.
    func listenerTLS(_ listener: GatewayListener, namespace: String, conditions: inout [GatewayCondition]) -> GatewayConfig.TLS? {
        guard let tls = listener.tls else { return nil }
        var result = GatewayConfig.TLS(mode: tls.mode)
        guard tls.mode == .terminate else { return result }
        for reference in tls.certificateRefs {
            switch certificate(reference, namespace: namespace) {
            case .success(let certificate): result.certificates.append(certificate)
            case .failure(let refusal):
                if !conditions.contains(where: { $0.type == "ResolvedRefs" }) {
                    conditions.append(GatewayCondition(type: "ResolvedRefs", status: .false, reason: refusal.reason, message: refusal.message))
                }
            }
        }
        return result
    }

    /// A Secret's `tls.crt` and `tls.key` (a `kubernetes.io/tls` or a generic Secret).
    func certificate(_ reference: GatewayObjectReference, namespace: String) -> Result<GatewayConfig.Certificate, Refusal> {
        switch secret(reference, namespace: namespace) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let secret):
            let name = "\(secret.metadata.namespace)/\(secret.metadata.name)"
            guard let certificate = secret.text(Secret.certificateKey), let key = secret.text(Secret.privateKeyKey) else {
                return .failure(Refusal(reason: "InvalidCertificateRef", message: "Secret \(name) has no tls.crt and tls.key"))
            }
            return .success(GatewayConfig.Certificate(secret: name, certificatePEM: certificate, privateKeyPEM: key))
        }
    }

    func secret(_ reference: GatewayObjectReference, namespace: String) -> Result<Secret, Refusal> {
        guard reference.group.isEmpty, reference.kind == "Secret" else {
            return .failure(Refusal(reason: "InvalidCertificateRef", message: "certificateRef \(reference.name): kind \(reference.kind) is not a Secret"))
        }
        let secretNamespace = reference.namespace.isEmpty ? namespace : reference.namespace
        guard secretNamespace == namespace else {
            return .failure(Refusal(reason: "RefNotPermitted", message: "Secret \(secretNamespace)/\(reference.name) is in another namespace; no ReferenceGrant allows it"))
        }
        guard let secret = secrets[ResourceKey(kind: .secret, namespace: secretNamespace, name: reference.name)] else {
            return .failure(Refusal(reason: "InvalidCertificateRef", message: "Secret \(secretNamespace)/\(reference.name) does not exist"))
        }
        return .success(secret)
    }
}
