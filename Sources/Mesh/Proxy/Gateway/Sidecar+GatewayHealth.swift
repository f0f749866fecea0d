import MeshModel

/// A gateway's HealthCheckPolicy probes (F2-026): each cluster's `ActiveHealth` by cluster name,
/// the probes in flight, and the generation of the config whose timers are current.
struct GatewayProbing: Sendable {
    var clusters: [String: ActiveHealth] = [:]
    /// Probe id → its cluster's name.
    var probes: [UInt64: String] = [:]
    var nextProbe: UInt64 = 1
    var nextGeneration: UInt64 = 1
}

/// HealthCheckPolicy on the gateway. With an `interval`, the engine probes (FSM Gateway's
/// `health-check.js`): a round per cluster every `interval` seconds, the first one `interval` after
/// the config arrives, a `healthProbe` action per endpoint and a deadline of its own; an endpoint
/// `maxFails` probes in a row failed is out of the choice until one passes. Without an interval the
/// policy is passive (`PassiveHealth`, DECISIONS 148). Both shells only carry the probes out.
extension Sidecar {
    static let healthProbeCounter = "gateway.health_probes"
    static let healthProbeFailedCounter = "gateway.health_probe_failures"
    static let healthEjectedCounter = "gateway.health_ejections"

    /// A gateway config was compiled: its clusters' active checks. A cluster whose check is
    /// unchanged keeps what it learnt, its probes in flight and its round timer; a new or changed
    /// one starts afresh, its first round `interval` from now.
    mutating func armHealthChecks(_ next: CompiledConfig) {
        var active: [String: ActiveHealth] = [:]
        var probes: [UInt64: String] = [:]
        for (cluster, policy) in (next.gateway?.clusterPolicies ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let check = policy.healthCheck, check.interval > 0 else { continue }
            let name = next.clusters[cluster].name
            let previous = gatewayProbing.clusters[name]
            let health = ActiveHealth(check, endpoints: next.clusters[cluster].endpoints, previous: previous, generation: gatewayProbing.nextGeneration)
            if !health.continues(previous) {
                gatewayProbing.nextGeneration += 1
                deferredActions.append(.startTimer(.healthRound(cluster: name, generation: health.generation), after: health.interval))
            }
            for case let id? in health.endpoints.map(\.probe) { probes[id.rawValue] = name }
            active[name] = health
        }
        gatewayProbing.clusters = active
        gatewayProbing.probes = probes
    }

    /// A cluster's round is due: a probe to each endpoint with none in flight, and the next round.
    mutating func healthRound(cluster name: String, generation: UInt64, actions: inout [OutboundHTTPAction]) {
        guard var health = gatewayProbing.clusters[name], health.generation == generation else { return }
        let started = health.startRound(firstID: gatewayProbing.nextProbe)
        gatewayProbing.nextProbe += UInt64(started.count)
        for (endpoint, id) in started {
            gatewayProbing.probes[id.rawValue] = name
            counters[counters.index(Self.healthProbeCounter)] += 1
            actions.append(.healthProbe(HealthProbe(id: id, cluster: name, endpoint: health.endpoints[endpoint].address, path: health.check.path)))
            actions.append(.startTimer(.healthProbeTimeout(id), after: ActiveHealth.probeTimeout))
        }
        gatewayProbing.clusters[name] = health
        actions.append(.startTimer(.healthRound(cluster: name, generation: generation), after: health.interval))
    }

    /// The shell carried out probe `id`: how it ended. A probe past its deadline, or of a config
    /// replaced since, changes nothing.
    public mutating func healthProbeEnded(_ id: HealthProbeID, _ outcome: HealthProbeOutcome) -> [OutboundHTTPAction] {
        var actions = takeDeferredActions()
        if finishHealthProbe(id, outcome) { actions.append(.cancelTimer(.healthProbeTimeout(id))) }
        return actions
    }

    /// Counts the probe's outcome for its endpoint; false when it was no longer awaited.
    @discardableResult
    mutating func finishHealthProbe(_ id: HealthProbeID, _ outcome: HealthProbeOutcome) -> Bool {
        guard let name = gatewayProbing.probes.removeValue(forKey: id.rawValue), var health = gatewayProbing.clusters[name] else { return false }
        let passed = health.passes(outcome)
        if !passed { counters[counters.index(Self.healthProbeFailedCounter)] += 1 }
        if health.finish(id, passed: passed) == true, !passed { counters[counters.index(Self.healthEjectedCounter)] += 1 }
        gatewayProbing.clusters[name] = health
        return true
    }

    /// Whether HealthCheckPolicy has taken `endpoint` of gateway cluster `cluster` out of the choice.
    func isEjected(_ cluster: Int, _ endpoint: Int, now: MeshInstant) -> Bool {
        if gatewayHealth[cluster]?.isEjected(endpoint, now: now) == true { return true }
        guard !gatewayProbing.clusters.isEmpty else { return false }
        return gatewayProbing.clusters[compiled.clusters[cluster].name]?.isEjected(endpoint) ?? false
    }

    /// Whether the cluster has a HealthCheckPolicy, passive or active.
    func hasHealthCheck(_ cluster: Int) -> Bool {
        gatewayHealth[cluster] != nil || (!gatewayProbing.clusters.isEmpty && gatewayProbing.clusters[compiled.clusters[cluster].name] != nil)
    }

    /// Whether every endpoint of the cluster is out (then the choice ignores ejection, as Envoy's panic threshold).
    func allEjected(_ cluster: Int, now: MeshInstant) -> Bool {
        compiled.clusters[cluster].endpoints.indices.allSatisfy { isEjected(cluster, $0, now: now) }
    }
}
