import MeshModel

/// HealthCheckPolicy's passive side for one cluster (F2-026): an endpoint whose answers fail
/// `maxFails` times in a row is out of the choice for `failTimeout` (its answers: a status the
/// policy's `matches` do not list, or with no `matches` a 5xx, or no answer at all), then comes
/// back on probation. A success resets its count. Used for a policy without an `interval`; with
/// one the gateway probes instead (`ActiveHealth`, docs/DECISIONS.md 148).
struct PassiveHealth: Hashable, Sendable {
    var maxFails: Int
    var failTimeout: MeshDuration
    /// Statuses that count as healthy; empty: any status below 500.
    var healthyStatuses: Set<Int>
    /// Per endpoint index.
    private(set) var consecutiveFails: [Int]
    private(set) var ejectedUntil: [MeshInstant?]

    init(_ policy: GatewayHealthCheck, endpoints: Int) {
        maxFails = max(1, policy.maxFails)
        failTimeout = .seconds(Int64(max(0, policy.failTimeout ?? 0)))
        healthyStatuses = Set(policy.matches.flatMap(\.statusCodes))
        consecutiveFails = Array(repeating: 0, count: endpoints)
        ejectedUntil = Array(repeating: nil, count: endpoints)
    }

    /// An answer from `endpoint` (status 0: none came).
    mutating func record(endpoint: Int, status: Int, now: MeshInstant) {
        guard consecutiveFails.indices.contains(endpoint) else { return }
        guard !isHealthy(status) else {
            consecutiveFails[endpoint] = 0
            return
        }
        consecutiveFails[endpoint] += 1
        if consecutiveFails[endpoint] >= maxFails {
            ejectedUntil[endpoint] = now + failTimeout
            consecutiveFails[endpoint] = 0
        }
    }

    func isHealthy(_ status: Int) -> Bool {
        guard status != 0 else { return false }
        return healthyStatuses.isEmpty ? status < 500 : healthyStatuses.contains(status)
    }

    func isEjected(_ endpoint: Int, now: MeshInstant) -> Bool {
        guard ejectedUntil.indices.contains(endpoint), let until = ejectedUntil[endpoint] else { return false }
        return now < until
    }

    /// Whether every endpoint is out (then the choice ignores ejection, as Envoy's panic threshold).
    func allEjected(now: MeshInstant) -> Bool {
        ejectedUntil.indices.allSatisfy { isEjected($0, now: now) }
    }
}
