import MeshModel

/// FSM's ingress controller (`ingressClassName: pipy`, F2-001/F2-003) as one more gateway config,
/// `<control-plane namespace>/fsm-ingress`: an HTTP listener on 80 whose virtual hosts are the
/// Ingress rules' hosts, Exact and Prefix paths in the same precedence as HTTPRoute rules, a
/// `defaultBackend` as the last rule of `*`, and FSM's annotations as data: `lb-type` and
/// `session-sticky` on the backends, `rewrite-target-from`/`-to` as a regex path rewrite.
extension GatewayBuilder {
    static let ingressName = "fsm-ingress"
    static let ingressPort = 80

    /// nil when no Ingress of FSM's class exists.
    func ingressConfig(output: inout Output) -> GatewayConfig? {
        let ingresses = cluster.inCreationOrder(Set(cluster.gatewayObjects.keys.filter { $0.kind == .ingress })).compactMap { key -> (ResourceKey, Ingress)? in
            guard case .ingress(let ingress)? = cluster.gatewayObjects[key], ingress.ingressClassName == Ingress.fsmClassName else { return nil }
            return (key, ingress)
        }
        guard !ingresses.isEmpty else { return nil }
        var keyed: [String: [(GatewayRulePrecedence.Key, GatewayConfig.Rule)]] = [:]
        for (age, (key, ingress)) in ingresses.enumerated() {
            let source = "Ingress \(key.namespace)/\(key.name)"
            for (ruleIndex, rule) in ingress.rules.enumerated() {
                for (pathIndex, path) in rule.paths.enumerated() {
                    let type: GatewayPathMatchType = path.pathType == .exact ? .exact : .pathPrefix
                    let match = GatewayHTTPRouteMatch(path: GatewayPathMatch(type: type, value: path.path))
                    let entry = ingressRule(source, ruleIndex: ruleIndex, match: match, backend: path.backend, ingress: ingress, namespace: key.namespace, output: &output)
                    let precedence = GatewayRulePrecedence.Key(match: match, routeAge: age, routeName: "\(key.namespace)/\(key.name)", ruleIndex: ruleIndex, matchIndex: pathIndex)
                    keyed[rule.host ?? GatewayHostnames.any, default: []].append((precedence, entry))
                }
            }
        }
        var hosts = keyed.keys.sorted(by: GatewayHostnames.precedes).map { host in
            GatewayConfig.VirtualHost(hostname: host, rules: keyed[host, default: []].sorted { GatewayRulePrecedence.precedes($0.0, $1.0) }.map(\.1))
        }
        // Default backends answer what no rule matches, on any host: after every rule of `*`.
        for (key, ingress) in ingresses {
            guard let backend = ingress.defaultBackend else { continue }
            let entry = ingressRule("Ingress \(key.namespace)/\(key.name)", ruleIndex: -1, match: GatewayHTTPRouteMatch(), backend: backend, ingress: ingress,
                                    namespace: key.namespace, output: &output)
            if let index = hosts.firstIndex(where: { $0.hostname == GatewayHostnames.any }) {
                hosts[index].rules.append(entry)
            } else {
                hosts.append(GatewayConfig.VirtualHost(hostname: GatewayHostnames.any, rules: [entry]))
            }
        }
        let listener = GatewayConfig.Listener(name: "http", port: Self.ingressPort, protocol: .http, virtualHosts: hosts)
        return GatewayConfig(gateway: "\(cluster.controlPlaneNamespace)/\(Self.ingressName)", listeners: [listener])
    }

    private func ingressRule(_ source: String, ruleIndex: Int, match: GatewayHTTPRouteMatch, backend: IngressServiceBackend, ingress: Ingress,
                             namespace: String, output: inout Output) -> GatewayConfig.Rule {
        var condition = GatewayCondition(type: "ResolvedRefs", status: .true, reason: "ResolvedRefs")
        var resolved: GatewayConfig.Backend?
        let ref = ServiceRef(namespace: namespace, name: backend.name)
        switch backend.port {
        case .int(let number):
            resolved = resolveBackend(GatewayObjectReference(kind: "Service", name: backend.name, namespace: namespace), port: number, namespace: namespace,
                                      condition: &condition, services: &output.services)
        case .string(let portName):
            output.services.insert(ref)
            let number = cluster.services[ref]?.ports.first { $0.name == portName }?.port
            resolved = number.flatMap { resolveBackend(GatewayObjectReference(kind: "Service", name: backend.name, namespace: namespace), port: $0, namespace: namespace,
                                                       condition: &condition, services: &output.services) }
        }
        if var backend = resolved {
            let annotations = ingress.metadata.annotations
            switch annotations[Ingress.annotationPrefix + "lb-type"] {
            case "hashing": backend.policies.loadBalancer = .hashing
            case "least-work": backend.policies.loadBalancer = .leastConnection
            case "round-robin": backend.policies.loadBalancer = .roundRobin
            default: break
            }
            if annotations[Ingress.annotationPrefix + "session-sticky"] == "true" { backend.policies.sessionSticky = GatewaySessionSticky() }
            resolved = backend
        }
        var filters: [GatewayConfig.Filter] = []
        if let from = ingress.metadata.annotations[Ingress.annotationPrefix + "rewrite-target-from"],
           let to = ingress.metadata.annotations[Ingress.annotationPrefix + "rewrite-target-to"] {
            filters.append(.pathRegexRewrite(pattern: from, replacement: to))
        }
        return GatewayConfig.Rule(route: source, ruleIndex: ruleIndex, match: match, filters: filters, backends: resolved.map { [$0] } ?? [])
    }
}
