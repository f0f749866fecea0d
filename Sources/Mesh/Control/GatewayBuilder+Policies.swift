import MeshModel

/// FSM Gateway's policies attached where their `targetRef` points (inventory G4):
/// - a Gateway: per listener port (RateLimit `bps`, AccessControl, GatewayTLS), and its
///   hostname/route levels (and a RateLimitPolicy's L7 `config`) over every rule of the Gateway;
/// - an HTTPRoute or GRPCRoute: the rules of that route: a `http[]`/`grpc[]` entry whose match
///   equals the rule's, else a `hostnames[]` entry naming the rule's virtual host, else `config`;
/// - a Service: the backends of that Service port (LoadBalancer, SessionSticky, HealthCheck,
///   Retry, CircuitBreaking, UpstreamTLS).
/// Where two policies of a kind set the same thing, the older one (first applied) wins.
extension GatewayBuilder {
    func attachPolicies(to config: inout GatewayConfig, gatewayKey: ResourceKey) {
        for policy in policies.reversed() { // newest first, so the oldest is applied last and wins
            switch policy.targetRef.kind {
            case "Gateway":
                guard policy.targetRef.namespace == gatewayKey.namespace, policy.targetRef.name == gatewayKey.name else { continue }
                attachToPorts(policy, config: &config)
                attachToRules(policy, config: &config) { _ in true }
            case "HTTPRoute", "GRPCRoute":
                let route = "\(policy.targetRef.kind) \(policy.targetRef.namespace)/\(policy.targetRef.name)"
                attachToRules(policy, config: &config) { $0.route == route }
            case "Service":
                let service = "\(policy.targetRef.namespace)/\(policy.targetRef.name)"
                forEachBackend(in: &config) { backend in
                    guard backend.service == service, !backend.external, let settings = policy.config(forPort: backend.port) else { return }
                    apply(settings, policy: policy, to: &backend.policies)
                }
            default: continue // ServiceImport: no multi-cluster services here
            }
        }
    }

    /// Each policy's `Accepted` condition: False with `TargetNotFound` while its target does not exist.
    func policyStatuses() -> [GatewayStatus] {
        policies.map { policy in
            let target = policy.targetRef
            let exists: Bool = switch target.kind {
            case "Service": cluster.services[ServiceRef(namespace: target.namespace, name: target.name)] != nil
            case "Gateway": gateways.contains { $0.key.namespace == target.namespace && $0.key.name == target.name }
            case "HTTPRoute", "GRPCRoute":
                routes.contains { $0.key.namespace == target.namespace && $0.key.name == target.name && $0.route.kind.rawValue == target.kind }
            default: false // ServiceImport: no multi-cluster services here
            }
            let condition = exists ? GatewayCondition(type: "Accepted", status: .true, reason: "Accepted")
                : GatewayCondition(type: "Accepted", status: .false, reason: "TargetNotFound", message: "\(target.kind) \(target.namespace)/\(target.name) does not exist")
            return GatewayStatus(object: "\(policy.kind.rawValue) \(policy.metadata.namespace)/\(policy.metadata.name)", conditions: [condition])
        }
    }

    static func source(_ policy: GatewayPolicy, _ section: String) -> String {
        "\(policy.kind.rawValue) \(policy.metadata.namespace)/\(policy.metadata.name) \(section)"
    }

    private func attachToPorts(_ policy: GatewayPolicy, config: inout GatewayConfig) {
        for index in config.listeners.indices {
            let port = config.listeners[index].port
            let entry = policy.ports.first(where: { $0.port == port })
            let section = entry == nil ? "config" : "ports[\(policy.ports.firstIndex(where: { $0.port == port }) ?? 0)]"
            switch policy.kind {
            case .rateLimit:
                if let bps = entry?.bps ?? policy.defaultBPS { config.listeners[index].bytesPerSecond = bps }
            case .accessControl:
                if case .accessControl(let settings)? = policy.config(forPort: port) {
                    config.listeners[index].accessControl = GatewayConfig.Attached(source: Self.source(policy, section), settings: settings)
                }
            case .gatewayTLS:
                guard case .gatewayTLS(let settings)? = policy.config(forPort: port), config.listeners[index].tls?.mode == .terminate else { continue }
                let ca = clientCA(for: config.listeners[index], settings: settings, namespace: policy.metadata.namespace)
                config.listeners[index].tls?.requireClientCertificate = settings.mTLS
                config.listeners[index].tls?.clientCA = ca
            default: continue
            }
        }
    }

    /// The CA that verifies clients: the policy's `certificateRef`, else the listener certificate Secret's `ca.crt` (F2-029).
    private func clientCA(for listener: GatewayConfig.Listener, settings: GatewayTLSSettings, namespace: String) -> String? {
        let names = settings.certificateRef.map { [($0.namespace.isEmpty ? namespace : $0.namespace) + "/" + $0.name] } ?? listener.tls?.certificates.map(\.secret) ?? []
        for name in names {
            let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let ca = secrets[ResourceKey(kind: .secret, namespace: parts[0], name: parts[1])]?.text(Secret.caKey) else { continue }
            return ca
        }
        return nil
    }

    /// Route-level settings (RateLimit, AccessControl, FaultInjection) on the rules `inScope` selects.
    private func attachToRules(_ policy: GatewayPolicy, config: inout GatewayConfig, inScope: (GatewayConfig.Rule) -> Bool) {
        guard [.rateLimit, .accessControl, .faultInjection].contains(policy.kind) else { return }
        for l in config.listeners.indices {
            for h in config.listeners[l].virtualHosts.indices {
                let hostname = config.listeners[l].virtualHosts[h].hostname
                for r in config.listeners[l].virtualHosts[h].rules.indices where inScope(config.listeners[l].virtualHosts[h].rules[r]) {
                    let rule = config.listeners[l].virtualHosts[h].rules[r]
                    guard let (settings, section) = routeLevelSettings(policy, rule: rule, hostname: hostname) else { continue }
                    let source = Self.source(policy, section)
                    switch settings {
                    case .rateLimit(let s): config.listeners[l].virtualHosts[h].rules[r].rateLimit = GatewayConfig.Attached(source: source, settings: s)
                    case .accessControl(let s): config.listeners[l].virtualHosts[h].rules[r].accessControl = GatewayConfig.Attached(source: source, settings: s)
                    case .faultInjection(let s): config.listeners[l].virtualHosts[h].rules[r].faultInjection = GatewayConfig.Attached(source: source, settings: s)
                    default: continue
                    }
                }
            }
        }
    }

    private func routeLevelSettings(_ policy: GatewayPolicy, rule: GatewayConfig.Rule, hostname: String) -> (GatewayPolicyConfig, String)? {
        if let match = rule.match, let index = policy.http.firstIndex(where: { $0.match == match }), let config = policy.http[index].config {
            return (config, "http[\(index)]")
        }
        if let match = rule.grpcMatch, let index = policy.grpc.firstIndex(where: { $0.match == match }), let config = policy.grpc[index].config {
            return (config, "grpc[\(index)]")
        }
        if let index = policy.hostnames.firstIndex(where: { $0.hostname == hostname }), let config = policy.hostnames[index].config {
            return (config, "hostnames[\(index)]")
        }
        // On a Gateway, an AccessControlPolicy's default applies per port (the listener), a RateLimitPolicy's to every rule.
        guard policy.targetRef.kind != "Gateway" || policy.kind == .rateLimit, let config = policy.defaultConfig else { return nil }
        return (config, "config")
    }

    private func apply(_ settings: GatewayPolicyConfig, policy: GatewayPolicy, to policies: inout GatewayConfig.BackendPolicies) {
        switch settings {
        case .loadBalancer(let type): policies.loadBalancer = type
        case .sessionSticky(let s): policies.sessionSticky = s
        case .healthCheck(let s): policies.healthCheck = s
        case .retry(let s): policies.retry = s
        case .circuitBreaking(let s): policies.circuitBreaking = s
        case .upstreamTLS(let s): policies.upstreamTLS = upstreamTLS(s, namespace: policy.metadata.namespace)
        case .rateLimit, .accessControl, .faultInjection, .gatewayTLS: break
        }
    }

    /// UpstreamTLSPolicy: the CA Secret's `ca.crt`, and its `tls.crt`/`tls.key` for mTLS.
    private func upstreamTLS(_ settings: GatewayTLSSettings, namespace: String) -> GatewayConfig.UpstreamTLS {
        var result = GatewayConfig.UpstreamTLS(mTLS: settings.mTLS)
        guard let reference = settings.certificateRef else { return result }
        let secretNamespace = reference.namespace.isEmpty ? namespace : reference.namespace
        guard case .success(let secret) = secret(reference, namespace: secretNamespace) else { return result }
        result.caPEM = secret.text(Secret.caKey)
        if settings.mTLS, case .success(let certificate) = certificate(reference, namespace: secretNamespace) { result.clientCertificate = certificate }
        return result
    }

    private func forEachBackend(in config: inout GatewayConfig, _ body: (inout GatewayConfig.Backend) -> Void) {
        for l in config.listeners.indices {
            for b in config.listeners[l].backends.indices { body(&config.listeners[l].backends[b]) }
            for s in config.listeners[l].sniRoutes.indices {
                for b in config.listeners[l].sniRoutes[s].backends.indices { body(&config.listeners[l].sniRoutes[s].backends[b]) }
            }
            for h in config.listeners[l].virtualHosts.indices {
                for r in config.listeners[l].virtualHosts[h].rules.indices {
                    for b in config.listeners[l].virtualHosts[h].rules[r].backends.indices { body(&config.listeners[l].virtualHosts[h].rules[r].backends[b]) }
                    for f in config.listeners[l].virtualHosts[h].rules[r].filters.indices {
                        guard case .requestMirror(var mirror) = config.listeners[l].virtualHosts[h].rules[r].filters[f] else { continue }
                        body(&mirror)
                        config.listeners[l].virtualHosts[h].rules[r].filters[f] = .requestMirror(mirror)
                    }
                }
            }
        }
    }
}
