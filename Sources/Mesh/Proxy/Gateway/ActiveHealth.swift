import MeshModel

/// HealthCheckPolicy's active probes for one gateway cluster (F2-026), as FSM Gateway's
/// `health-check.js` runs them: every `interval` seconds each endpoint gets a probe (an HTTP GET
/// of `path`, or a TCP connect without one); a probe fails when the endpoint does not answer
/// (refused, reset, or nothing within `probeTimeout`) or its answer misses one of `matches`;
/// `maxFails` failures in a row take the endpoint out of the choice until a probe succeeds.
struct ActiveHealth: Hashable, Sendable {
    struct Endpoint: Hashable, Sendable {
        var address: SocketAddress
        var consecutiveFails = 0
        var healthy = true
        /// The probe in flight, if any: a round skips an endpoint whose last probe has not ended.
        var probe: HealthProbeID?
    }

    /// pipy's `connectTimeout: 5, idleTimeout: 5` for a check's connection.
    static let probeTimeout: MeshDuration = .seconds(5)

    let check: GatewayHealthCheck
    private(set) var endpoints: [Endpoint]
    /// The round timer's generation: a timer of another one is stale.
    let generation: UInt64

    /// The cluster's endpoints under `check`; with the same check as `previous`, what it learnt
    /// about an endpoint that stays (same address) is kept, its probe in flight included, and so is
    /// its round timer (`generation`), so a config push neither brings an unhealthy endpoint back
    /// nor puts the next round off.
    init(_ check: GatewayHealthCheck, endpoints: [SocketAddress], previous: ActiveHealth?, generation: UInt64) {
        self.check = check
        let carried = previous?.check == check ? previous : nil
        self.generation = carried?.generation ?? generation
        self.endpoints = endpoints.map { address in
            carried?.endpoints.first { $0.address == address } ?? Endpoint(address: address)
        }
    }

    /// Whether this state carries on `previous`'s round timer.
    func continues(_ previous: ActiveHealth?) -> Bool { previous?.generation == generation }

    var interval: MeshDuration { .seconds(Int64(max(1, check.interval))) }

    /// A round of probes: each endpoint without one in flight gets the next id from `firstID` on;
    /// returns the endpoints and their probes' ids.
    mutating func startRound(firstID: UInt64) -> [(endpoint: Int, id: HealthProbeID)] {
        var started: [(endpoint: Int, id: HealthProbeID)] = []
        for index in endpoints.indices where endpoints[index].probe == nil {
            let id = HealthProbeID(firstID + UInt64(started.count))
            endpoints[index].probe = id
            started.append((index, id))
        }
        return started
    }

    /// Probe `id` ended; nil when it is not the one in flight for an endpoint (it was abandoned).
    /// Returns whether the endpoint's health changed.
    @discardableResult
    mutating func finish(_ id: HealthProbeID, passed: Bool) -> Bool? {
        guard let index = endpoints.firstIndex(where: { $0.probe == id }) else { return nil }
        endpoints[index].probe = nil
        let wasHealthy = endpoints[index].healthy
        if passed {
            endpoints[index].consecutiveFails = 0
            endpoints[index].healthy = true
        } else {
            endpoints[index].consecutiveFails += 1
            if endpoints[index].consecutiveFails >= max(1, check.maxFails) { endpoints[index].healthy = false }
        }
        return wasHealthy != endpoints[index].healthy
    }

    func isEjected(_ endpoint: Int) -> Bool {
        endpoints.indices.contains(endpoint) && !endpoints[endpoint].healthy
    }

    var allEjected: Bool { !endpoints.isEmpty && endpoints.allSatisfy { !$0.healthy } }

    /// Whether an answer passes every one of `matches` (none: any answer passes): a listed status,
    /// the exact body, each header with its value (names case-insensitive).
    func passes(_ outcome: HealthProbeOutcome) -> Bool {
        switch outcome {
        case .failed: return false
        case .connected: return check.path == nil
        case let .answered(status, headers, body):
            return check.matches.allSatisfy { match in
                (match.statusCodes.isEmpty || match.statusCodes.contains(status))
                    && (match.body.map { $0 == body } ?? true)
                    && match.headers.allSatisfy { wanted in
                        headers.contains { asciiCaseInsensitiveEquals($0.name, wanted.name) && $0.value == wanted.value }
                    }
            }
        }
    }
}
