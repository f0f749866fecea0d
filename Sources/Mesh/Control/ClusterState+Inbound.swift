import MeshModel

/// What the SMI policies to one destination identity allow.
struct InboundPolicy: Sendable {
    struct RuleKey: Hashable, Sendable {
        var pathRegex: String
        var methods: [String]?
        var headers: [HeaderMatch]?
    }

    /// HTTP route matches in first-seen order (TrafficTargets by namespace/name, matches in their
    /// HTTPRouteGroup's order); the same path+methods+headers from several targets unite their sources.
    var httpRules: [(rule: RuleKey, sources: Set<String>)] = []
    /// TCPRoute grants: ports (nil: every port) and sources.
    var tcpGrants: [(ports: Set<Int>?, sources: Set<String>)] = []
}

extension ClusterState {
    /// Collects the TrafficTargets whose destination is `identity`.
    func inboundPolicy(for identity: String, dependencies: inout Set<Dependency>, diagnostics: inout [ControllerDiagnostic]) -> InboundPolicy {
        dependencies.insert(.destinationPolicies(identity))
        var policy = InboundPolicy()
        var ruleIndex: [InboundPolicy.RuleKey: Int] = [:]
        for key in (targetsByDestination[identity] ?? []).sorted() {
            guard let target = trafficTargets[key] else { continue }
            let sources = Set(target.sources.filter { $0.kind == "ServiceAccount" }.map {
                ServiceNames.identity(serviceAccount: $0.name, namespace: $0.namespace)
            })
            for rule in target.rules {
                switch rule.kind {
                case "HTTPRouteGroup":
                    let groupKey = ResourceKey(kind: .httpRouteGroup, namespace: key.namespace, name: rule.name)
                    dependencies.insert(.routeSpec(groupKey))
                    guard let group = httpRouteGroups[groupKey] else {
                        diagnostics.append(ControllerDiagnostic("E2005", "TrafficTarget \(key.namespace)/\(key.name): HTTPRouteGroup \(key.namespace)/\(rule.name) not found"))
                        continue
                    }
                    for missing in rule.matches where !group.matches.contains(where: { $0.name == missing }) {
                        diagnostics.append(ControllerDiagnostic("E2005", "TrafficTarget \(key.namespace)/\(key.name): HTTPRouteGroup \(key.namespace)/\(rule.name) has no match named \(missing)"))
                    }
                    for match in group.matches where rule.matches.isEmpty || rule.matches.contains(match.name) {
                        let methods = match.methods.isEmpty || match.methods.contains("*") ? nil : match.methods
                        let headers = match.headers.isEmpty ? nil : match.headers.sorted { $0.key < $1.key }.map { HeaderMatch(name: $0.key, valueRegex: $0.value) }
                        let ruleKey = InboundPolicy.RuleKey(pathRegex: match.pathRegex ?? ".*", methods: methods, headers: headers)
                        if let i = ruleIndex[ruleKey] {
                            policy.httpRules[i].sources.formUnion(sources)
                        } else {
                            ruleIndex[ruleKey] = policy.httpRules.count
                            policy.httpRules.append((ruleKey, sources))
                        }
                    }
                case "TCPRoute":
                    let routeKey = ResourceKey(kind: .tcpRoute, namespace: key.namespace, name: rule.name)
                    dependencies.insert(.routeSpec(routeKey))
                    guard let route = tcpRoutes[routeKey] else {
                        diagnostics.append(ControllerDiagnostic("E2009", "TrafficTarget \(key.namespace)/\(key.name): TCPRoute \(key.namespace)/\(rule.name) not found"))
                        continue
                    }
                    policy.tcpGrants.append((route.ports.isEmpty ? nil : Set(route.ports), sources))
                default:
                    diagnostics.append(ControllerDiagnostic("E2009", "TrafficTarget \(key.namespace)/\(key.name): unsupported rule kind \(rule.kind)"))
                }
            }
        }
        return policy
    }

    /// The inbound config of a proxy serving `served` as `identity`: one traffic match per target
    /// port, shared by every service port that maps to it. With `accessControl` (the feature flag
    /// `enableAccessControlPolicy`) the AccessControls naming a port admit clients outside the mesh.
    func inbound(identity: String, served: [ServiceRef], containerPorts: [ContainerPort], permissive: Bool, accessControl: Bool = false,
                 dependencies: inout Set<Dependency>, diagnostics: inout [ControllerDiagnostic]) -> InboundConfig {
        let policy = permissive ? nil : inboundPolicy(for: identity, dependencies: &dependencies, diagnostics: &diagnostics)
        var matches: [Int: InboundTrafficMatch] = [:]
        var clusters: [String: ClusterConfig] = [:]

        for ref in served {
            dependencies.insert(.serviceSpec(ref))
            dependencies.insert(.upstreamSetting(ref))
            guard let service = services[ref] else { continue }
            let setting = upstreamSetting(for: ref)
            let fqdn = ref.fqdn
            for port in service.ports where port.transportProtocol.uppercased() == "TCP" {
                guard let target = Self.targetPort(of: port, containerPorts: containerPorts) else {
                    diagnostics.append(ControllerDiagnostic("E5021", "Service \(ref) port \(port.port): targetPort names no container port of pods running as \(identity)"))
                    continue
                }
                let local = ServiceNames.cluster(service: ref.name, namespace: ref.namespace, port: target, local: true)
                clusters[local] = ClusterConfig(name: local, endpoints: [ClusterEndpoint(address: "127.0.0.1:\(target)", weight: 100)])
                var match = matches[target] ?? InboundTrafficMatch(port: target, appProtocol: port.appProtocol)
                if match.appProtocol != port.appProtocol {
                    diagnostics.append(ControllerDiagnostic("E5020", "Service \(ref) port \(port.port): appProtocol \(port.appProtocol.rawValue) conflicts with \(match.appProtocol.rawValue) on target port \(target); \(match.appProtocol.rawValue) used"))
                }
                if match.tcpRateLimit == nil, let tcp = setting?.tcpRateLimit { match.tcpRateLimit = RateLimitConfig(tcp) }
                let targets = [WeightedCluster(name: local, weight: 100)]
                if accessControl, let admission = accessAdmission(to: ref, target: target, dependencies: &dependencies, diagnostics: &diagnostics) {
                    match.accessControl = Self.admitting(admission, to: targets[0], in: match.accessControl)
                }
                switch match.appProtocol {
                case .http, .grpc:
                    match.httpHostPort2Service += ServiceNames.hostForms(service: ref.name, namespace: ref.namespace, port: port.port)
                        .map { HostMapping(host: $0, service: fqdn) }
                    guard !match.httpServiceRouteRules.contains(where: { $0.service == fqdn }) else { break }
                    var rules: [RouteRule]
                    if let policy {
                        rules = policy.httpRules.map {
                            RouteRule(pathRegex: $0.rule.pathRegex, headers: $0.rule.headers, methods: $0.rule.methods,
                                      targetClusters: targets, allowedServices: $0.sources.sorted())
                        }
                    } else {
                        rules = [RouteRule(pathRegex: ".*", targetClusters: targets)]
                    }
                    // Route limits apply only to routes the policy already allows (guide 3.6).
                    for route in setting?.httpRoutes ?? [] {
                        for i in rules.indices where rules[i].pathRegex == route.path { rules[i].rateLimit = RateLimitConfig(route.rateLimit) }
                    }
                    match.httpServiceRouteRules.append(ServiceRouteRules(service: fqdn, rules: rules, rateLimit: setting?.httpRateLimit.map(RateLimitConfig.init)))
                case .tcp, .tcpServerFirst:
                    if !(match.targetClusters ?? []).contains(where: { $0.name == local }) {
                        match.targetClusters = (match.targetClusters ?? []) + targets
                    }
                    if let policy {
                        var allowed = Set(match.allowedEndpoints ?? [])
                        for grant in policy.tcpGrants where grant.ports == nil || grant.ports!.contains(target) || grant.ports!.contains(port.port) {
                            allowed.formUnion(grant.sources)
                        }
                        match.allowedEndpoints = allowed.sorted()
                    }
                }
                matches[target] = match
            }
        }
        admitIngress(to: &matches, served: served, dependencies: &dependencies)
        let ordered = matches.keys.sorted().map { port -> InboundTrafficMatch in
            var match = matches[port]!
            match.httpHostPort2Service = Set(match.httpHostPort2Service).sorted { $0.host < $1.host }
            match.httpServiceRouteRules.sort { $0.service < $1.service }
            match.targetClusters?.sort { $0.name < $1.name }
            return match
        }
        return InboundConfig(trafficMatches: ordered, clustersConfigs: clusters.keys.sorted().map { clusters[$0]! })
    }

    /// `control` with an AccessControl's admission to `cluster` added, everything sorted.
    static func admitting(_ admission: (ranges: Set<String>, principals: Set<String>), to cluster: WeightedCluster,
                          in control: InboundAccessControl?) -> InboundAccessControl {
        var control = control ?? InboundAccessControl()
        control.sourceIPRanges = Set(control.sourceIPRanges).union(admission.ranges).sorted()
        control.authenticatedPrincipals = Set(control.authenticatedPrincipals).union(admission.principals).sorted()
        if !control.targetClusters.contains(cluster) { control.targetClusters = (control.targetClusters + [cluster]).sorted { $0.name < $1.name } }
        return control
    }
}
