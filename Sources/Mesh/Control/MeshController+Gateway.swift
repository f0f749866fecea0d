import MeshModel

/// What the controller holds for the gateways: the last build's configs and statuses, and the
/// Services they read.
struct GatewayControllerState: Sendable {
    var configs: [String: GatewayConfig] = [:]
    var statuses: [GatewayStatus] = []
    var services: Set<ServiceRef> = []
    /// Namespaces of `services`: a pod there may be an endpoint of one.
    var serviceNamespaces: Set<String> = []
    var builds = 0
}

/// The gateway part of the controller: one `GatewayConfig` per Gateway of FSM's class, rebuilt
/// (`GatewayBuilder`) only when a change reaches the gateways: a Gateway API, FSM Gateway policy or
/// Secret object, a Namespace holding one (its labels select its routes), or a Service, Endpoints or Pod behind a
/// Service the configs name. Other changes (the mesh's own pods and policies) leave them alone.
extension MeshController {
    /// The config of a Gateway, `namespace/name`.
    public func gatewayConfig(for gateway: String) -> GatewayConfig? {
        gatewayState.configs[gateway]
    }

    /// Every Gateway with a config, sorted.
    public var gatewayNames: [String] { gatewayState.configs.keys.sorted() }

    /// The conditions of FSM's GatewayClasses, Gateways (and listeners) and routes (per parent), sorted.
    public var gatewayStatuses: [GatewayStatus] { gatewayState.statuses }

    /// How many times the gateway configs were rebuilt (the incremental tests read it).
    public var gatewayBuilds: Int { gatewayState.builds }

    /// Rebuilds the gateways when a change reaches them; the gateways whose config changed.
    mutating func refreshGateways(after changes: [ResourceChange]) -> [String] {
        guard changes.contains(where: reachesGateways) else { return [] }
        let output = GatewayBuilder(cluster: cluster).build()
        let old = gatewayState.configs
        var changed = Set(old.keys).symmetricDifference(output.configs.keys)
        for (name, config) in output.configs where old[name].map({ $0.version != config.version }) == true { changed.insert(name) }
        gatewayState = GatewayControllerState(configs: output.configs, statuses: output.statuses, services: output.services,
                                              serviceNamespaces: Set(output.services.map(\.namespace)), builds: gatewayState.builds + 1)
        return changed.sorted()
    }

    private func reachesGateways(_ change: ResourceChange) -> Bool {
        let key: ResourceKey = switch change {
        case .upsert(let resource): resource.key
        case .delete(let key): key
        }
        switch key.kind {
        case .namespace: return cluster.gatewayObjects.keys.contains { $0.namespace == key.name } // its labels select its routes
        case .service, .endpoints: return gatewayState.services.contains(ServiceRef(namespace: key.namespace, name: key.name))
        case .pod: return gatewayState.serviceNamespaces.contains(key.namespace)
        case .serviceAccount, .deployment, .statefulSet, .trafficTarget, .httpRouteGroup, .tcpRoute, .trafficSplit, .meshConfig, .upstreamTrafficSetting, .retry,
             .accessControl, .egress, .accessCert, .egressGateway:
            return false
        case .ingressBackend:
            return false // the backend sidecars' part (`ClusterState+Ingress`)
        case .ingress, .secret, .gatewayClass, .gateway, .httpRoute, .grpcRoute, .gatewayTCPRoute, .tlsRoute, .udpRoute, .rateLimitPolicy, .accessControlPolicy,
             .loadBalancerPolicy, .sessionStickyPolicy, .healthCheckPolicy, .faultInjectionPolicy, .retryPolicy, .upstreamTLSPolicy, .gatewayTLSPolicy,
             .circuitBreakingPolicy:
            return true
        }
    }
}
