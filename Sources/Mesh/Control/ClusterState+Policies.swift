import MeshModel

/// The UpstreamTrafficSettings of one service merged into one.
struct MergedUpstreamSetting: Sendable {
    var connectionSettings: ConnectionSettings?
    var tcpRateLimit: TCPLocalRateLimit?
    var httpRateLimit: HTTPLocalRateLimit?
    /// Per path regex, in first-seen order.
    var httpRoutes: [HTTPRouteRateLimit] = []
}

/// A TrafficSplit as the controller applies it.
struct ResolvedSplit: Sendable {
    var key: ResourceKey
    var root: ServiceRef
    /// Backends with a positive weight; weight-0 backends are left out (demos.md 1.6 uses weight 0
    /// to move all traffic to the other backend).
    var backends: [(service: ServiceRef, weight: Int)]
}

extension ClusterState {
    /// All UpstreamTrafficSettings for the service, merged field by field; where two set the same
    /// field, the later-created one wins.
    func upstreamSetting(for ref: ServiceRef) -> MergedUpstreamSetting? {
        guard let keys = settingsByService[ref], !keys.isEmpty else { return nil }
        var merged = MergedUpstreamSetting()
        for key in inCreationOrder(keys) {
            guard let setting = upstreamSettings[key] else { continue }
            if let settings = setting.connectionSettings { merged.connectionSettings = settings }
            if let tcp = setting.rateLimit?.tcp { merged.tcpRateLimit = tcp }
            if let http = setting.rateLimit?.http { merged.httpRateLimit = http }
            for route in setting.httpRoutes {
                if let i = merged.httpRoutes.firstIndex(where: { $0.path == route.path }) { merged.httpRoutes[i] = route } else { merged.httpRoutes.append(route) }
            }
        }
        return merged
    }

    /// Validates a split (guide 3.3): namespace in the mesh; root and backends real services of the
    /// split's namespace; weights not negative and summing to more than zero. Returns the resolved
    /// split or the reason it is ignored.
    func resolve(_ key: ResourceKey) -> Result<ResolvedSplit, SplitProblem> {
        guard let split = splits[key] else { return .failure(SplitProblem(key: key, reason: "not found")) }
        let namespace = split.metadata.namespace
        func fail(_ reason: String) -> Result<ResolvedSplit, SplitProblem> { .failure(SplitProblem(key: key, reason: reason)) }
        guard isMonitored(namespace) else { return fail("namespace \(namespace) is not in the mesh") }
        guard let root = ServiceNames.parseService(split.service, defaultNamespace: namespace), root.namespace == namespace else {
            return fail("spec.service '\(split.service)' does not name a service of namespace \(namespace)")
        }
        guard services[root] != nil else { return fail("root service \(root) does not exist") }
        guard !split.backends.isEmpty else { return fail("has no backends") }
        var backends: [(service: ServiceRef, weight: Int)] = []
        var total = 0
        for backend in split.backends {
            guard let ref = ServiceNames.parseService(backend.service, defaultNamespace: namespace), ref.namespace == namespace else {
                return fail("backend '\(backend.service)' does not name a service of namespace \(namespace)")
            }
            guard services[ref] != nil else { return fail("backend service \(ref) does not exist") }
            guard backend.weight >= 0 else { return fail("backend \(ref) has negative weight \(backend.weight)") }
            total += backend.weight
            if backend.weight > 0 { backends.append((ref, backend.weight)) }
        }
        guard total > 0 else { return fail("total backend weight is 0") }
        return .success(ResolvedSplit(key: key, root: root, backends: backends))
    }

    /// The split applied to a root service: the first valid one by name; others for the same root are reported.
    func split(forRoot root: ServiceRef) -> ResolvedSplit? {
        for key in (splitsByService[root] ?? []).sorted() {
            if case .success(let resolved) = resolve(key), resolved.root == root { return resolved }
        }
        return nil
    }

    /// Every problem with the current splits, sorted.
    func splitDiagnostics() -> [ControllerDiagnostic] {
        var problems: [ControllerDiagnostic] = []
        var rootOwner: [ServiceRef: ResourceKey] = [:]
        for key in splits.keys.sorted() {
            switch resolve(key) {
            case .failure(let problem): problems.append(ControllerDiagnostic("E2008", problem.description))
            case .success(let resolved):
                if let owner = rootOwner[resolved.root] {
                    problems.append(ControllerDiagnostic("E2007", SplitProblem(key: key, reason: "root service \(resolved.root) is already split by \(owner.namespace)/\(owner.name); ignored").description))
                } else {
                    rootOwner[resolved.root] = key
                }
            }
        }
        return problems
    }

    /// Retry policies from the identity, by destination service; the later-created Retry wins.
    func retryPolicies(from identity: String) -> [ServiceRef: RetryPolicy] {
        var result: [ServiceRef: RetryPolicy] = [:]
        for key in inCreationOrder(retriesBySource[identity] ?? []) {
            guard let retry = retries[key] else { continue }
            for destination in retry.destinations where destination.kind == "Service" {
                result[ServiceRef(namespace: destination.namespace, name: destination.name)] = retry.retryPolicy
            }
        }
        return result
    }
}

struct SplitProblem: Error, CustomStringConvertible {
    var key: ResourceKey
    var reason: String
    var description: String { "TrafficSplit \(key.namespace)/\(key.name): \(reason)" }
}

extension RateLimitConfig {
    init(_ tcp: TCPLocalRateLimit) {
        self.init(limit: tcp.connections, period: tcp.unit.period, capacity: tcp.burst ?? tcp.connections)
    }

    init(_ http: HTTPLocalRateLimit) {
        self.init(limit: http.requests, period: http.unit.period, capacity: http.burst ?? http.requests,
                  responseStatusCode: http.responseStatusCode, responseHeadersToAdd: http.responseHeadersToAdd)
    }
}
