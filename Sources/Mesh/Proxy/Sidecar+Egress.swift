import MeshModel

/// Egress passthrough (guides 3.8.1, MeshConfig `traffic.enableEgress`): a request whose
/// destination no traffic match claims leaves the pod for its original destination, as is, with
/// no L4 or L7 policy (FSM's wildcard rule with original-destination logic). Each destination gets
/// a cluster of its own, `egress|ip:port` (one endpoint, no limits, the default connect timeout),
/// made at its first request and kept across config pushes while egress stays on; the shells see
/// the name (`isEgressCluster`) and dial the destination itself, in plain, not a peer sidecar.
/// Transparent: a destination that refuses or resets ends the app's exchange with status 0 (as
/// the app's own connection would end), not the mesh's 503; a destination that is a meshed pod
/// (an in-cluster service the client's policy does not route) meets that pod's inbound border
/// without a mesh identity, and is refused there.
/// With egress off an unmatched destination has no route (status 0, the demos' `curl: (7)`).
extension Sidecar {
    static let egressClusterPrefix = "egress|"
    /// Passthrough destinations one sidecar keeps at most; past it, more are refused (no route).
    static let maxEgressClusters = 1024

    public static func isEgressCluster(_ name: String) -> Bool { name.hasPrefix(egressClusterPrefix) }

    /// MeshConfig `traffic.enableEgress` in the applied config: unmatched destinations pass through.
    public var passesEgressThrough: Bool { compiled.egressEnabled }

    /// The passthrough cluster of `destination`, made on first use; nil when egress is off or the
    /// destination is no address (a local-mode name it could not resolve).
    mutating func egressCluster(for destination: SocketAddress) -> Int? {
        egressCluster(for: destination, allowed: compiled.egressEnabled, limits: ClusterLimits(), connectTimeout: .seconds(5))
    }

    /// `allowed`: passthrough is on, or an Egress policy allows the destination (its limits then).
    mutating func egressCluster(for destination: SocketAddress, allowed: Bool, limits: ClusterLimits, connectTimeout: MeshDuration?) -> Int? {
        guard allowed, destination.port > 0, let parsed = AddressRange.parseIPv4(destination.ip), parsed != 0,
              !compiled.egressRefused.contains(where: { $0.contains(ip: destination.ip, parsed: parsed) }) else { return nil }
        let name = Sidecar.egressClusterPrefix + "\(destination.ip):\(destination.port)"
        if let index = compiled.egressClusterIndexByName[name] { return index }
        guard compiled.egressClusterIndexByName.count < Sidecar.maxEgressClusters else { return nil }
        return compiled.addEgressCluster(name, destination: destination, limits: limits, connectTimeout: connectTimeout)
    }

    mutating func passThrough(_ id: ExchangeID, cluster: Int, now: MeshInstant, actions: inout [OutboundHTTPAction]) {
        guard !compiled.clusters[cluster].endpoints.isEmpty else {
            // Through an egress gateway with no endpoint: closed, not out directly.
            actions.append(.respond(id, Sidecar.noEndpointsResponse, local: .noEndpoints, flags: .noHealthyUpstream))
            return
        }
        countEgressGateway(cluster)
        useCluster(cluster)
        exchanges[id.rawValue] = Exchange(cluster: cluster, startedAt: now, admittedByBreaker: false, appProtocol: .http)
        dispatch(id.rawValue, actions: &actions)
    }

    /// A new config keeps the passthrough clusters made so far while egress stays on (their pools
    /// and requests in flight carry over by name); with egress off they wind down.
    mutating func keepEgressClusters(in next: inout CompiledConfig) {
        guard next.egressEnabled || !next.egressPolicy.isEmpty else { return }
        for (name, index) in compiled.egressClusterIndexByName.sorted(by: { $0.value < $1.value }) {
            let cluster = compiled.clusters[index]
            guard let destination = cluster.tunnelTarget ?? cluster.endpoints.first else { continue }
            _ = next.addEgressCluster(name, destination: destination, limits: cluster.limits, connectTimeout: cluster.connectTimeout)
        }
    }
}

extension CompiledConfig {
    /// With an egress gateway the cluster's endpoint is the gateway's (none when it has none) and
    /// the destination its tunnel target.
    mutating func addEgressCluster(_ name: String, destination: SocketAddress, limits: ClusterLimits, connectTimeout: MeshDuration?) -> Int {
        let index = clusters.count
        var endpoints = [destination]
        if let egressGateway { endpoints = egressGateway.endpoint(for: destination).map { [$0] } ?? [] }
        clusters.own.append(CompiledCluster(name: name, endpoints: endpoints, endpointWeights: endpoints.map { _ in 100 }, limits: limits,
                                            retry: nil, circuitBreaking: nil, requestTimeout: nil, connectTimeout: connectTimeout, isEgress: true,
                                            tunnelTarget: egressGateway == nil ? nil : destination))
        egressClusterIndexByName[name] = index
        return index
    }
}
