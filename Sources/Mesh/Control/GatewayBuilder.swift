import MeshModel

/// Computes every FSM Gateway's config and the Gateway API status conditions from the cluster:
/// which routes attach to which listeners (`parentRefs` by name, `sectionName` and `port`;
/// `allowedRoutes` namespaces and kinds; hostname intersection), the rules of each virtual host in
/// precedence order, backends resolved to endpoints, the policies attached by `targetRef`.
///
/// Pure: the same cluster gives the same configs. A route, a listener or a backend that does not
/// resolve is left out with a condition saying why; the rest keeps serving.
struct GatewayBuilder {
    let cluster: ClusterState
    private(set) var classes: [String: GatewayClass] = [:]
    private(set) var gateways: [(key: ResourceKey, gateway: Gateway)] = []
    /// Routes, oldest first.
    private(set) var routes: [(key: ResourceKey, route: GatewayRoute)] = []
    /// Policies, oldest first (the oldest wins a conflict, as Gateway API policy attachment says).
    private(set) var policies: [GatewayPolicy] = []
    private(set) var secrets: [ResourceKey: Secret] = [:]

    struct Output: Sendable {
        var configs: [String: GatewayConfig] = [:]
        var statuses: [GatewayStatus] = []
        /// Services the configs read: a change to one (or to its pods) rebuilds.
        var services: Set<ServiceRef> = []
    }

    /// A route accepted on one listener, with the hostnames it serves there.
    struct Attachment {
        var route: GatewayRoute
        var routeKey: ResourceKey
        var age: Int
        var hostnames: [String]
        var rules: [ResolvedRule]
    }

    init(cluster: ClusterState) {
        self.cluster = cluster
        for key in cluster.inCreationOrder(Set(cluster.gatewayObjects.keys)) {
            switch cluster.gatewayObjects[key] {
            case .gatewayClass(let c)?: classes[c.metadata.name] = c
            case .gateway(let g)?: gateways.append((key, g))
            case .gatewayRoute(let r)?: routes.append((key, r))
            case .gatewayPolicy(let p)?: policies.append(p)
            case .secret(let s)?: secrets[key] = s
            default: break
            }
        }
        gateways.sort { ($0.key.namespace, $0.key.name) < ($1.key.namespace, $1.key.name) }
    }

    /// `GatewayClass <name>`, `Gateway <ns>/<name>`, `HTTPRoute <ns>/<name>`.
    static func describe(_ key: ResourceKey) -> String {
        let kind = key.kind == .gatewayTCPRoute ? "TCPRoute" : key.kind.rawValue
        return key.namespace.isEmpty ? "\(kind) \(key.name)" : "\(kind) \(key.namespace)/\(key.name)"
    }

    /// Whether this controller serves the class: a GatewayClass naming `flomesh.io/gateway-controller`,
    /// or a built-in class name (`fsm-gateway-cls`, `fsm`) when no object of that name says otherwise.
    func isOurs(className: String) -> Bool {
        if let declared = classes[className] { return declared.controllerName == GatewayAPI.controllerName }
        return GatewayAPI.builtInClassNames.contains(className)
    }

    func build() -> Output {
        var output = Output()
        output.statuses += classStatuses() + policyStatuses()
        // A Service a policy targets: its arrival changes the policy's status.
        for policy in policies where policy.targetRef.kind == "Service" {
            output.services.insert(ServiceRef(namespace: policy.targetRef.namespace, name: policy.targetRef.name))
        }
        var attachments: [ResourceKey: [[Attachment]]] = [:]
        for (key, gateway) in gateways where isOurs(className: gateway.gatewayClassName) {
            attachments[key] = Array(repeating: [], count: gateway.listeners.count)
        }
        for (index, entry) in routes.enumerated() {
            attach(entry.route, key: entry.key, age: index, into: &attachments, output: &output)
        }
        for (key, gateway) in gateways {
            guard let attached = attachments[key] else { continue }
            var config = gatewayConfig(key: key, gateway: gateway, attached: attached, output: &output)
            attachPolicies(to: &config, gatewayKey: key)
            output.configs[config.gateway] = Self.versioned(config)
        }
        if let ingress = ingressConfig(output: &output), output.configs[ingress.gateway] == nil {
            output.configs[ingress.gateway] = Self.versioned(ingress)
        }
        output.statuses.sort { ($0.object, $0.scope) < ($1.object, $1.scope) }
        return output
    }

    /// The config with its version: a content hash of its listeners.
    static func versioned(_ config: GatewayConfig) -> GatewayConfig {
        var config = config
        var hash = ContentHash()
        hash.add(String(reflecting: config.listeners))
        config.version = hash.hex
        return config
    }

    private func classStatuses() -> [GatewayStatus] {
        let names = Set(classes.keys).union(GatewayAPI.builtInClassNames)
        return names.sorted().filter { isOurs(className: $0) }.map { name in
            GatewayStatus(object: "GatewayClass \(name)", conditions: [GatewayCondition(type: "Accepted", status: .true, reason: "Accepted")])
        }
    }

    // MARK: Attachment

    /// Attaches a route to the listeners its parentRefs select and records its conditions per parent.
    private func attach(_ route: GatewayRoute, key: ResourceKey, age: Int, into attachments: inout [ResourceKey: [[Attachment]]], output: inout Output) {
        var resolvedRefs = GatewayCondition(type: "ResolvedRefs", status: .true, reason: "ResolvedRefs")
        let rules = resolveRules(route, routeKey: key, condition: &resolvedRefs, services: &output.services)
        for parent in route.parentRefs where parent.group == GatewayAPI.group && parent.kind == "Gateway" {
            let gatewayKey = ResourceKey(kind: .gateway, namespace: parent.namespace, name: parent.name)
            let scope = "parent \(parent.namespace)/\(parent.name)" + (parent.sectionName.map { " section \($0)" } ?? "") + (parent.port.map { " port \($0)" } ?? "")
            var status = GatewayStatus(object: Self.describe(key), scope: scope)
            guard let gateway = gateways.first(where: { $0.key == gatewayKey })?.gateway else {
                status.conditions = [GatewayCondition(type: "Accepted", status: .false, reason: "NoMatchingParent", message: "Gateway \(parent.namespace)/\(parent.name) does not exist"), resolvedRefs]
                output.statuses.append(status)
                continue
            }
            guard attachments[gatewayKey] != nil else { continue } // another controller's Gateway
            var refusal: (reason: String, message: String)?
            var accepted = false
            for (index, listener) in gateway.listeners.enumerated() {
                if let name = parent.sectionName, name != listener.name { continue }
                if let port = parent.port, port != listener.port { continue }
                switch admission(route, key: key, on: listener, gatewayNamespace: gatewayKey.namespace) {
                case .success(let hostnames):
                    attachments[gatewayKey]![index].append(Attachment(route: route, routeKey: key, age: age, hostnames: hostnames, rules: rules))
                    accepted = true
                case .failure(let problem):
                    refusal = refusal ?? (problem.reason, problem.message)
                }
            }
            let reason = refusal ?? ("NoMatchingParent", "no listener of Gateway \(parent.namespace)/\(parent.name) has" + (parent.sectionName.map { " name \($0)" } ?? "") + (parent.port.map { " port \($0)" } ?? ""))
            status.conditions = [
                accepted ? GatewayCondition(type: "Accepted", status: .true, reason: "Accepted")
                    : GatewayCondition(type: "Accepted", status: .false, reason: reason.reason, message: reason.message),
                resolvedRefs,
            ]
            output.statuses.append(status)
        }
    }

    struct Refusal: Error {
        var reason: String
        var message: String
    }

    /// Whether a listener accepts the route (kind, namespace, hostnames); the hostnames it serves there.
    private func admission(_ route: GatewayRoute, key: ResourceKey, on listener: GatewayListener, gatewayNamespace: String) -> Result<[String], Refusal> {
        let kinds = listener.allowedKinds.isEmpty ? GatewayRouteKind.allowed(on: listener.protocol).map(\.rawValue)
            : listener.allowedKinds.filter { $0.group == GatewayAPI.group }.map(\.kind)
        // A TLS listener that terminates also carries TCPRoutes.
        let terminatingTLS = listener.protocol == .tls && listener.tls?.mode == .terminate
        guard kinds.contains(route.kind.rawValue) || (terminatingTLS && route.kind == .tcp && listener.allowedKinds.isEmpty) else {
            return .failure(Refusal(reason: "NotAllowedByListeners", message: "listener \(listener.name) does not allow \(route.kind.rawValue)"))
        }
        if route.kind == .tls, listener.tls?.mode == .terminate {
            return .failure(Refusal(reason: "NotAllowedByListeners", message: "listener \(listener.name) terminates TLS; a TLSRoute needs mode Passthrough"))
        }
        let namespace = key.namespace
        let allowed: Bool = switch listener.allowedNamespaces {
        case .same: namespace == gatewayNamespace
        case .all: true
        case .selector(let selector): cluster.namespaces[namespace].map { ClusterState.matches(selector, $0.metadata.labels) } ?? false
        }
        guard allowed else {
            return .failure(Refusal(reason: "NotAllowedByListeners", message: "listener \(listener.name) does not allow routes from namespace \(namespace)"))
        }
        let routeHostnames = [.http, .grpc, .tls].contains(route.kind) ? route.hostnames : []
        guard let hostnames = GatewayHostnames.intersect(listener: listener.hostname, route: routeHostnames) else {
            return .failure(Refusal(reason: "NoMatchingListenerHostname", message: "no hostname of the route matches listener \(listener.name)'s \(listener.hostname ?? "")"))
        }
        return .success(hostnames)
    }

    // MARK: Config

    private func gatewayConfig(key: ResourceKey, gateway: Gateway, attached: [[Attachment]], output: inout Output) -> GatewayConfig {
        var config = GatewayConfig(gateway: "\(key.namespace)/\(key.name)")
        var programmed = 0
        for (index, listener) in gateway.listeners.enumerated() {
            var conditions: [GatewayCondition] = []
            let tls = listenerTLS(listener, namespace: key.namespace, conditions: &conditions)
            let serves = listener.protocol != .https || !(tls?.certificates.isEmpty ?? true)
            conditions.append(GatewayCondition(type: "Accepted", status: .true, reason: "Accepted"))
            conditions.append(serves ? GatewayCondition(type: "Programmed", status: .true, reason: "Programmed")
                : GatewayCondition(type: "Programmed", status: .false, reason: "Invalid", message: "no certificate resolved"))
            if !conditions.contains(where: { $0.type == "ResolvedRefs" }) {
                conditions.append(GatewayCondition(type: "ResolvedRefs", status: .true, reason: "ResolvedRefs"))
            }
            output.statuses.append(GatewayStatus(object: Self.describe(key), scope: "listener \(listener.name)", conditions: conditions.sorted { $0.type < $1.type }))
            guard serves else { continue }
            programmed += 1
            var entry = GatewayConfig.Listener(name: listener.name, port: listener.port, protocol: listener.protocol, hostname: listener.hostname, tls: tls)
            fill(&entry, with: attached[index])
            config.listeners.append(entry)
        }
        output.statuses.append(GatewayStatus(object: Self.describe(key), conditions: [
            GatewayCondition(type: "Accepted", status: .true, reason: "Accepted"),
            programmed > 0 ? GatewayCondition(type: "Programmed", status: .true, reason: "Programmed")
                : GatewayCondition(type: "Programmed", status: .false, reason: "Invalid", message: "no listener could be programmed"),
        ]))
        return config
    }

    /// The listener's virtual hosts (HTTP, HTTPS), SNI routes (TLS passthrough) or backends (TCP, UDP).
    private func fill(_ listener: inout GatewayConfig.Listener, with attachments: [Attachment]) {
        switch listener.protocol {
        case .http, .https:
            listener.virtualHosts = virtualHosts(attachments)
        case .tls where listener.tls?.mode == .passthrough:
            for attachment in attachments where attachment.route.kind == .tls {
                for hostname in attachment.hostnames {
                    listener.sniRoutes.append(GatewayConfig.SNIRoute(hostname: hostname, route: Self.describe(attachment.routeKey),
                                                                     backends: attachment.rules.flatMap(\.backends)))
                }
            }
            listener.sniRoutes.sort { GatewayHostnames.precedes($0.hostname, $1.hostname) }
        case .tls, .tcp, .udp:
            listener.backends = attachments.flatMap { $0.rules.flatMap(\.backends) }
        }
    }

    private func virtualHosts(_ attachments: [Attachment]) -> [GatewayConfig.VirtualHost] {
        var keyed: [String: [(GatewayRulePrecedence.Key, GatewayConfig.Rule)]] = [:]
        for attachment in attachments where attachment.route.kind == .http || attachment.route.kind == .grpc {
            let routeName = "\(attachment.routeKey.namespace)/\(attachment.routeKey.name)"
            for hostname in attachment.hostnames {
                for (ruleIndex, rule) in attachment.rules.enumerated() {
                    for (matchIndex, entry) in rule.entries(route: Self.describe(attachment.routeKey), ruleIndex: ruleIndex).enumerated() {
                        let key = GatewayRulePrecedence.Key(match: entry.match, grpcMatch: entry.grpcMatch, routeAge: attachment.age, routeName: routeName,
                                                            ruleIndex: ruleIndex, matchIndex: matchIndex)
                        keyed[hostname, default: []].append((key, entry))
                    }
                }
            }
        }
        return keyed.keys.sorted(by: GatewayHostnames.precedes).map { hostname in
            let rules = keyed[hostname, default: []].sorted { GatewayRulePrecedence.precedes($0.0, $1.0) }.map(\.1)
            return GatewayConfig.VirtualHost(hostname: hostname, rules: rules)
        }
    }
}
