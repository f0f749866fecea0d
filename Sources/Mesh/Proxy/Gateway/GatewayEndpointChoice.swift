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
        return Int(fnv1a(client) % UInt64(endpointCount))
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
        let digits = String(fnv1a(endpoint.description) % 10_000_000_000_000_000)
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

    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}

extension Sidecar {
    /// The endpoint the cluster's gateway policy picks for a request's first attempt (nil: the
    /// balancer's turn). A sticky cluster answers a request without a valid cookie with one
    /// (a response filter adds `set-cookie`).
    mutating func preferredEndpoint(cluster: Int, head: HTTPRequestHead, source: SocketAddress, responseFilters: inout [HTTPFilter]) -> Int? {
        guard let policy = compiled.gateway?.clusterPolicies[cluster] else { return nil }
        let endpoints = compiled.clusters[cluster].endpoints
        guard !endpoints.isEmpty else { return nil }
        if let sticky = policy.sticky {
            if let token = GatewayEndpointChoice.cookie(sticky.cookieName, in: head),
               let index = endpoints.firstIndex(where: { GatewayEndpointChoice.stickyToken($0) == token }) {
                return index
            }
            useCluster(cluster)
            guard let index = balancedEndpoint(cluster: cluster, policy: policy, source: source) else { return nil }
            responseFilters.append(.headerModifier(HeaderModifierFilter(side: .response, add: [GatewayEndpointChoice.setCookie(sticky, token: GatewayEndpointChoice.stickyToken(endpoints[index]))])))
            return index
        }
        guard policy.balancing != .roundRobin else { return nil }
        return balancedEndpoint(cluster: cluster, policy: policy, source: source)
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
