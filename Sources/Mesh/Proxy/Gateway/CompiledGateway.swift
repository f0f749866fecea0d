import MeshModel

/// A `GatewayConfig` compiled for the engine: its listeners, and per cluster the FGW policies the
/// sidecar's clusters do not have (how an endpoint is chosen, upstream TLS, health checks). The
/// clusters themselves (endpoints, retries, circuit breaking, timeouts) are `CompiledConfig`'s,
/// so a gateway exchange goes through the same router, pool and retry code as a sidecar's.
struct CompiledGateway: Sendable {
    var listeners: [CompiledGatewayListener] = []
    /// Listener indices by port, in config order.
    var listenersByPort: [Int: [Int]] = [:]
    /// By cluster index.
    var clusterPolicies: [Int: GatewayClusterPolicy] = [:]

    /// The listener of `port` for a server name (a TLS client's SNI, or an HTTP request's Host):
    /// the first whose hostname matches it, else the first without a hostname.
    func listener(port: Int, serverName: String?) -> Int? {
        guard let candidates = listenersByPort[port] else { return nil }
        if let serverName {
            let name = GatewayHostPattern.hostName(serverName)
            if let named = candidates.first(where: { listeners[$0].hostname?.matches(host: name) == true }) { return named }
        }
        return candidates.first { listeners[$0].hostname == nil }
    }
}

struct CompiledGatewayListener: Sendable {
    var name: String
    var port: Int
    var listenerProtocol: GatewayListenerProtocol
    var hostname: GatewayHostPattern?
    var tls: GatewayConfig.TLS?
    /// RateLimitPolicy on the port: bytes per second each way (the shell paces the relay).
    var bytesPerSecond: Int?
    /// AccessControlPolicy on the port: every request (HTTP) or connection (L4) is checked.
    var accessControl: GatewayAccessControlFilter?
    /// HTTP(S): the virtual hosts as the table's services, each rule's filters and backends.
    var table: CompiledTrafficMatch
    var chain: HTTPFilterChain
    /// Parallel to the table's services and rules: whether the rule is a GRPCRoute's (its
    /// backends speak HTTP/2).
    var grpcRules: [[Bool]] = []
    /// TLS passthrough: backends by SNI, in precedence order.
    var sniRoutes: [(host: GatewayHostPattern, targets: TargetSet)] = []
    /// TCP, UDP, and TLS Terminate carrying a TCPRoute.
    var l4Targets: TargetSet?

    var isHTTP: Bool { listenerProtocol == .http || listenerProtocol == .https }
}

/// What a gateway cluster adds to a sidecar cluster.
struct GatewayClusterPolicy: Sendable {
    var balancing: GatewayLoadBalancerType = .roundRobin
    var sticky: GatewaySessionSticky?
    var security: GatewayUpstreamSecurity = .plaintext
    var healthCheck: GatewayHealthCheck?
}
