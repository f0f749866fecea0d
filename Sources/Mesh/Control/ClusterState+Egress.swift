import MeshModel

/// Egress policies (guides 3.8.1, demos.md 6.3): the rules of the Egresses naming a proxy's
/// ServiceAccount, one per Egress port, as FSM's catalog builds them. An invalid IP range is
/// ignored (E2002), a match that does not resolve is ignored (E2003; a missing HTTPRouteGroup is
/// E2004), a rule whose port and destinations another Egress already claims with another protocol
/// is dropped (E2000), and a destination given two UpstreamTrafficSettings keeps the first (E2001).
/// Older Egresses win conflicts (creation order).
extension ClusterState {
    mutating func setEgress(_ key: ResourceKey, _ egress: Egress?, into effect: inout Effect) {
        for source in egresses[key]?.sources ?? [] {
            guard let identity = Self.identity(of: source) else { continue }
            egressesBySource[identity]?.remove(key)
            effect.touched.insert(.egressPolicies(identity))
        }
        egresses[key] = egress
        for source in egress?.sources ?? [] {
            guard let identity = Self.identity(of: source) else { continue }
            egressesBySource[identity, default: []].insert(key)
            effect.touched.insert(.egressPolicies(identity))
        }
    }

    /// The egress rules of the proxies running as `identity`; nil when no Egress names it.
    func egressPolicy(for identity: String, dependencies: inout Set<Dependency>, diagnostics: inout [ControllerDiagnostic]) -> EgressPolicySpec? {
        dependencies.insert(.egressPolicies(identity))
        let keys = (egressesBySource[identity] ?? []).sorted { (creationOrder[$0] ?? 0, $0) < (creationOrder[$1] ?? 0, $1) }
        var rules: [EgressRule] = []
        for key in keys {
            guard let egress = egresses[key] else { continue }
            let name = "\(key.namespace)/\(key.name)"
            var ranges: [String] = []
            for range in egress.ipAddresses {
                if ManifestDecoder.isCIDR(range) { ranges.append(range) } else {
                    diagnostics.append(ControllerDiagnostic("E2002", "Egress \(name): ipAddresses \(range) is not a CIDR such as 192.0.2.0/24; ignored"))
                }
            }
            // Every range invalid: the Egress names no destination (not every one).
            if !egress.ipAddresses.isEmpty, ranges.isEmpty, egress.hosts.isEmpty { continue }
            let (routes, settings) = egressMatches(egress, key: key, dependencies: &dependencies, diagnostics: &diagnostics)
            for port in egress.ports {
                let rule = EgressRule(policy: name, port: port.number, protocol: port.protocol, hosts: egress.hosts, ipRanges: ranges,
                                      routes: port.protocol.isHTTP ? routes : nil, connectionSettings: settings)
                if let earlier = rules.first(where: { Self.conflict($0, rule) }) {
                    diagnostics.append(ControllerDiagnostic("E2000", "Egress \(name): port \(port.number) \(port.protocol.rawValue) conflicts with Egress \(earlier.policy)'s \(earlier.protocol.rawValue) for the same destinations; ignored"))
                    continue
                }
                var kept = rule
                if settings != nil, let earlier = rules.first(where: { Self.sameDestination($0, rule) && $0.connectionSettings != nil && $0.connectionSettings != settings }) {
                    diagnostics.append(ControllerDiagnostic("E2001", "Egress \(name): port \(port.number) has another UpstreamTrafficSetting than Egress \(earlier.policy); the first kept"))
                    kept.connectionSettings = earlier.connectionSettings
                }
                rules.append(kept)
            }
        }
        return rules.isEmpty ? nil : EgressPolicySpec(rules: rules)
    }

    /// The Egress's HTTPRouteGroup routes (nil: no route group named, any request; named but none
    /// found: no request) and its UpstreamTrafficSetting's connection settings.
    private func egressMatches(_ egress: Egress, key: ResourceKey, dependencies: inout Set<Dependency>,
                               diagnostics: inout [ControllerDiagnostic]) -> (routes: [EgressRoute]?, settings: ConnectionSettings?) {
        var routes: [EgressRoute]?
        var settings: ConnectionSettings?
        let name = "\(key.namespace)/\(key.name)"
        for match in egress.matches {
            switch match.kind {
            case .httpRouteGroup:
                let groupKey = ResourceKey(kind: .httpRouteGroup, namespace: key.namespace, name: match.name)
                dependencies.insert(.routeSpec(groupKey))
                if routes == nil { routes = [] }
                guard let group = httpRouteGroups[groupKey] else {
                    diagnostics.append(ControllerDiagnostic("E2004", "Egress \(name): HTTPRouteGroup \(key.namespace)/\(match.name) not found; match ignored"))
                    continue
                }
                routes! += group.matches.map { item in
                    EgressRoute(pathRegex: item.pathRegex ?? ".*", methods: item.methods.isEmpty || item.methods.contains("*") ? nil : item.methods,
                                headers: item.headers.isEmpty ? nil : item.headers.keys.sorted().map { HeaderMatch(name: $0, valueRegex: item.headers[$0]!) })
                }
            case .upstreamTrafficSetting:
                let settingKey = ResourceKey(kind: .upstreamTrafficSetting, namespace: key.namespace, name: match.name)
                dependencies.insert(.routeSpec(settingKey))
                guard let setting = upstreamSettings[settingKey], egress.hosts.contains(setting.host.lowercased()) else {
                    diagnostics.append(ControllerDiagnostic("E2003", "Egress \(name): UpstreamTrafficSetting \(key.namespace)/\(match.name) not found or its host is no host of the Egress; match ignored"))
                    continue
                }
                settings = setting.connectionSettings ?? settings
            }
        }
        return (routes, settings)
    }

    /// Same port and overlapping destinations, told apart by another protocol: the sidecar could
    /// not know which one a connection speaks.
    static func conflict(_ a: EgressRule, _ b: EgressRule) -> Bool {
        a.port == b.port && a.protocol != b.protocol && overlaps(a, b)
    }

    static func sameDestination(_ a: EgressRule, _ b: EgressRule) -> Bool {
        a.port == b.port && overlaps(a, b)
    }

    private static func overlaps(_ a: EgressRule, _ b: EgressRule) -> Bool {
        let anyA = a.hosts.isEmpty && a.ipRanges.isEmpty, anyB = b.hosts.isEmpty && b.ipRanges.isEmpty
        return anyA || anyB || !Set(a.hosts).isDisjoint(with: b.hosts) || !Set(a.ipRanges).isDisjoint(with: b.ipRanges)
    }
}
