import MeshModel

/// How FSM Gateway's LoadBalancerPolicy and SessionStickyPolicy choose a backend's endpoint
/// (F2-025, F2-027), as pure functions of what the engine knows: RoundRobin is the cluster's own
/// balancer; Hashing sends one client address always to one endpoint; LeastConnection takes the
/// endpoint with the fewest requests in flight, ties going round; a sticky session's cookie names
/// its endpoint by a token derived from the endpoint's address.
enum GatewayEndpointChoice {
    /// FNV-1a of the client address, so one client lands on one endpoint while the endpoints stay.
    static func hashed(client: String, endpointCount: Int) -> Int {
        guard endpointCount > 0 else { return 0 }
        return Int(StableHash.fnv1a(client) % UInt64(endpointCount))
    }

    /// Among the endpoints with the fewest requests in flight, the `turn`-th (modulo their number).
    static func leastLoaded(inFlight: [Int], turn: Int) -> Int? {
        guard let least = inFlight.min() else { return nil }
        let candidates = inFlight.indices.filter { inFlight[$0] == least }
        return candidates[turn % candidates.count]
    }

    /// The token of an endpoint in a sticky session's cookie: 16 decimal digits of its address's
    /// hash (the guide's cookies are numbers: `_srv_id=7252425551334343`).
    static func stickyToken(_ endpoint: SocketAddress) -> String {
        let digits = String(StableHash.fnv1a(endpoint.description) % 10_000_000_000_000_000)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The value of cookie `name` in the request's `cookie` headers.
    static func cookie(_ name: String, in head: HTTPRequestHead) -> Substring? {
        for header in head.headers where asciiCaseInsensitiveEquals(header.name, "cookie") {
            for pair in header.value.split(separator: ";") {
                let trimmed = pair.drop(while: { $0 == " " })
                guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == name else { continue }
                return trimmed[trimmed.index(after: equals)...]
            }
        }
        return nil
    }

    /// `set-cookie` of a new sticky session: the guide's `_srv_id=...; path=/; ...; max-age=N`
    /// without `expires` (a calendar date the engine has no clock for; max-age wins in every
    /// browser; docs/DECISIONS.md 143).
    static func setCookie(_ sticky: GatewaySessionSticky, token: String) -> HTTPHeader {
        HTTPHeader(name: "set-cookie", value: "\(sticky.cookieName)=\(token); path=/; max-age=\(sticky.expires)")
    }
}

extension Sidecar {
    /// The endpoint the cluster's gateway policy picks for a request's first attempt (nil: the
    /// balancer's turn). A sticky cluster answers a request without a valid cookie with one
    /// (a response filter adds `set-cookie`).
    mutating func preferredEndpoint(cluster: Int, head: HTTPRequestHead, source: SocketAddress, now: MeshInstant, responseFilters: inout [HTTPFilter]) -> Int? {
        guard let policy = compiled.gateway?.clusterPolicies[cluster] else { return nil }
        let endpoints = compiled.clusters[cluster].endpoints
        guard !endpoints.isEmpty else { return nil }
        if let sticky = policy.sticky {
            if let token = GatewayEndpointChoice.cookie(sticky.cookieName, in: head),
               let index = endpoints.firstIndex(where: { GatewayEndpointChoice.stickyToken($0) == token }), !isEjected(cluster, index, now: now) {
                return index
            }
            useCluster(cluster)
            guard let index = healthyEndpoint(cluster: cluster, policy: policy, source: source, now: now) else { return nil }
            responseFilters.append(.headerModifier(HeaderModifierFilter(side: .response, add: [GatewayEndpointChoice.setCookie(sticky, token: GatewayEndpointChoice.stickyToken(endpoints[index]))])))
            return index
        }
        guard policy.balancing != .roundRobin || hasHealthCheck(cluster) else { return nil }
        return healthyEndpoint(cluster: cluster, policy: policy, source: source, now: now)
    }

    /// The policy's choice, or, when HealthCheckPolicy has ejected it, the balancer's next
    /// endpoint that is not ejected (every endpoint ejected: the choice stands).
    private mutating func healthyEndpoint(cluster: Int, policy: GatewayClusterPolicy, source: SocketAddress, now: MeshInstant) -> Int? {
        let choice = balancedEndpoint(cluster: cluster, policy: policy, source: source)
        guard let choice, isEjected(cluster, choice, now: now), !allEjected(cluster, now: now) else { return choice }
        useCluster(cluster)
        for _ in compiled.clusters[cluster].endpoints.indices {
            guard let next = clusters[cluster].endpointBalancer.next() else { break }
            if !isEjected(cluster, next, now: now) { return next }
        }
        return choice
    }

    /// An attempt of a gateway exchange ended: HealthCheckPolicy counts its answer.
    mutating func recordGatewayHealth(cluster: Int, endpoint: Int, status: Int, now: MeshInstant) {
        guard cluster >= 0, endpoint >= 0, gatewayHealth[cluster] != nil else { return }
        gatewayHealth[cluster]!.record(endpoint: endpoint, status: status, now: now)
    }

    private mutating func balancedEndpoint(cluster: Int, policy: GatewayClusterPolicy, source: SocketAddress) -> Int? {
        let count = compiled.clusters[cluster].endpoints.count
        switch policy.balancing {
        case .roundRobin:
            useCluster(cluster)
            return clusters[cluster].endpointBalancer.next()
        case .hashing:
            return GatewayEndpointChoice.hashed(client: source.ip, endpointCount: count)
        case .leastConnection:
            var inFlight = [Int](repeating: 0, count: count)
            for connection in connections.values where connection.cluster == cluster && connection.busyWith != nil && connection.endpoint >= 0 {
                inFlight[connection.endpoint] += 1
            }
            let turn = leastConnectionTurns[cluster, default: 0]
            leastConnectionTurns[cluster] = turn + 1
            return GatewayEndpointChoice.leastLoaded(inFlight: inFlight, turn: turn)
        }
    }
}
