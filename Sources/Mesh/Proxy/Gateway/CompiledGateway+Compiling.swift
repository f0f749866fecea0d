import MeshModel

extension CompiledConfig {
    /// A gateway's tables: a cluster per backend Service port (named `namespace/name:port`, or
    /// `host:port` for an external backend), each listener's chain (routing, then the matched
    /// rule's policies and filters), L4 targets. The first problem rejects the config.
    static func compile(gateway config: GatewayConfig) throws(ConfigRejection) -> CompiledConfig {
        var compiler = GatewayCompiler()
        var gateway = CompiledGateway()
        for listener in config.listeners {
            let index = gateway.listeners.count
            gateway.listeners.append(try compiler.listener(listener, "\(config.gateway) listener \(listener.name)"))
            gateway.listenersByPort[listener.port, default: []].append(index)
        }
        gateway.clusterPolicies = compiler.clusterPolicies
        var compiled = compiler.compiled
        compiled.gateway = gateway
        return compiled
    }
}

/// Builds a gateway's `CompiledConfig` one listener at a time.
struct GatewayCompiler {
    var compiled = CompiledConfig()
    var clusterPolicies: [Int: GatewayClusterPolicy] = [:]
    private var bucketBySource: [String: Int] = [:]

    /// The default connect deadline of a gateway cluster (as a sidecar's, `ConnectionSettings`).
    static let connectTimeout = ConnectionSettings.TCP().connectTimeout

    static func clusterName(_ backend: GatewayConfig.Backend) -> String { "\(backend.service):\(backend.port)" }

    mutating func listener(_ listener: GatewayConfig.Listener, _ context: String) throws(ConfigRejection) -> CompiledGatewayListener {
        var table = CompiledTrafficMatch(port: listener.port, appProtocol: .http, isHTTP: listener.protocol == .http || listener.protocol == .https)
        var hosts: [GatewayHostPattern] = []
        var matches: [[GatewayRequestMatch]] = []
        var grpcRules: [[Bool]] = []
        for host in listener.virtualHosts {
            var rules: [CompiledRule] = []
            var hostMatches: [GatewayRequestMatch] = []
            for rule in host.rules {
                let place = "\(context) host \(host.hostname) \(rule.route) rule \(rule.ruleIndex + 1)"
                rules.append(try self.rule(rule, place))
                hostMatches.append(try GatewayCompiler.match(rule, place))
            }
            hosts.append(GatewayHostPattern(host.hostname))
            matches.append(hostMatches)
            grpcRules.append(host.rules.map { $0.grpcMatch != nil })
            table.services.append(CompiledService(name: host.hostname, rules: rules))
        }
        var result = CompiledGatewayListener(
            name: listener.name, port: listener.port, listenerProtocol: listener.protocol, hostname: listener.hostname.map(GatewayHostPattern.init), tls: listener.tls,
            bytesPerSecond: listener.bytesPerSecond, table: table,
            chain: HTTPFilterChain(filters: [.gatewayRoute(GatewayRouteFilter(hosts: hosts, matches: matches)), .routeFilters]), grpcRules: grpcRules)
        if let bytesPerSecond = listener.bytesPerSecond {
            result.chain.filters.insert(.gatewayUploadPacing(GatewayUploadPacingFilter(bucket: try portBucket(listener.port, bytesPerSecond: bytesPerSecond, context))), at: 0)
        }
        if let attached = listener.accessControl {
            let filter = try GatewayAccessControlFilter(compiling: attached.settings, "\(context) \(attached.source)")
            result.accessControl = filter
            result.chain.filters.insert(.gatewayAccessControl(filter), at: 0)
        }
        for route in listener.sniRoutes {
            result.sniRoutes.append((GatewayHostPattern(route.hostname), try targets(route.backends, "\(context) \(route.route)")))
        }
        if !listener.backends.isEmpty { result.l4Targets = try targets(listener.backends, context) }
        return result
    }

    static func match(_ rule: GatewayConfig.Rule, _ context: String) throws(ConfigRejection) -> GatewayRequestMatch {
        if let grpc = rule.grpcMatch { return try GatewayRequestMatch(compiling: grpc, context) }
        return try GatewayRequestMatch(compiling: rule.match ?? GatewayHTTPRouteMatch(), context)
    }

    /// A rule's table entry: its policies (access control, rate limit, fault injection) as filters
    /// before its route filters, and its weighted backends.
    mutating func rule(_ rule: GatewayConfig.Rule, _ context: String) throws(ConfigRejection) -> CompiledRule {
        var filters: [HTTPFilter] = []
        if let attached = rule.accessControl {
            filters.append(.gatewayAccessControl(try GatewayAccessControlFilter(compiling: attached.settings, "\(context) \(attached.source)")))
        }
        if let attached = rule.rateLimit {
            filters.append(.gatewayRateLimit(GatewayRateLimitFilter(bucket: try bucket(attached, context), response: GatewayRateLimitFilter.response(attached.settings))))
        }
        if let attached = rule.faultInjection {
            filters.append(.faultInjection(try FaultInjectionFilter(compiling: attached.settings, "\(context) \(attached.source)")))
        }
        filters += try routeFilters(rule.filters, context)
        return CompiledRule(path: .any, methods: nil, headers: [], targets: try targets(rule.backends, context), allowedServices: nil, bucket: nil,
                            rateLimitedResponse: nil, filters: filters)
    }

    /// The route's filters (a mirror's backend becomes a cluster first).
    mutating func routeFilters(_ filters: [GatewayConfig.Filter], _ context: String) throws(ConfigRejection) -> [HTTPFilter] {
        for case .requestMirror(let backend) in filters { _ = try cluster(backend, context) }
        return try HTTPFilter.compile(filters, clusters: Set(compiled.outboundClusterIndexByName.keys), mirrorCluster: GatewayCompiler.clusterName, context: context)
    }

    /// The weighted choice among backends; a weight of 0 keeps a backend out.
    mutating func targets(_ backends: [GatewayConfig.Backend], _ context: String) throws(ConfigRejection) -> TargetSet {
        var clusters: [Int] = [], weights: [Int] = []
        for backend in backends where backend.weight > 0 {
            clusters.append(try cluster(backend, context))
            weights.append(backend.weight)
        }
        let balancer = compiled.balancerWeights.count
        compiled.balancerWeights.own.append(weights)
        return TargetSet(clusters: clusters, balancer: balancer)
    }

    /// The cluster of a backend's Service port, made on first use.
    mutating func cluster(_ backend: GatewayConfig.Backend, _ context: String) throws(ConfigRejection) -> Int {
        let name = GatewayCompiler.clusterName(backend)
        if let index = compiled.outboundClusterIndexByName[name] { return index }
        var endpoints: [SocketAddress] = []
        for endpoint in backend.endpoints {
            guard let address = SocketAddress(parsing: endpoint) else {
                throw ConfigRejection(description: "\(context): backend \(name): endpoint \"\(endpoint)\" is not host:port")
            }
            endpoints.append(address)
        }
        let policies = backend.policies
        let cluster = CompiledCluster(
            name: name, endpoints: endpoints, endpointWeights: endpoints.map { _ in 1 }, limits: ClusterLimits(), retry: try policies.retry.map { r throws(ConfigRejection) in try GatewayCompiler.retry(r, "\(context): backend \(name)") },
            circuitBreaking: policies.circuitBreaking.map(GatewayCompiler.circuitBreaking), requestTimeout: nil, connectTimeout: GatewayCompiler.connectTimeout)
        let index = compiled.clusters.count
        compiled.clusters.own.append(cluster)
        compiled.outboundClusterIndexByName[name] = index
        clusterPolicies[index] = GatewayClusterPolicy(
            balancing: policies.loadBalancer ?? .roundRobin, sticky: policies.sessionSticky,
            security: policies.upstreamTLS.map { .tls(caPEM: $0.caPEM, clientCertificate: $0.mTLS ? $0.clientCertificate : nil) } ?? .plaintext,
            healthCheck: policies.healthCheck)
        return index
    }

    /// The byte bucket of a port's RateLimitPolicy `bps`, shared by the listeners on the port.
    mutating func portBucket(_ port: Int, bytesPerSecond: Int, _ context: String) throws(ConfigRejection) -> Int {
        let key = "gateway-port|\(port)"
        if let index = bucketBySource[key] { return index }
        guard bytesPerSecond > 0 else { throw ConfigRejection(description: "\(context): expected bps > 0, found \(bytesPerSecond)") }
        let index = compiled.buckets.count
        compiled.buckets.own.append(BucketSpec(key: key, bucket: GatewayUploadPacingFilter.bucket(bytesPerSecond: bytesPerSecond)))
        bucketBySource[key] = index
        return index
    }

    mutating func bucket(_ attached: GatewayConfig.Attached<GatewayRateLimit>, _ context: String) throws(ConfigRejection) -> Int {
        if let index = bucketBySource[attached.source] { return index }
        let bucket = try GatewayRateLimitFilter.bucket(attached.settings, "\(context) \(attached.source)")
        let index = compiled.buckets.count
        compiled.buckets.own.append(BucketSpec(key: "gateway|\(attached.source)", bucket: bucket))
        bucketBySource[attached.source] = index
        return index
    }

    static func retry(_ retry: GatewayRetry, _ context: String) throws(ConfigRejection) -> CompiledRetry {
        let conditions = RetryConditions(parsing: retry.retryOn.joined(separator: ","))
        guard conditions.unrecognized.isEmpty else {
            throw ConfigRejection(description: "\(context): RetryPolicy retryOn \(conditions.unrecognized.joined(separator: ",")): expected 5xx, a status class or code")
        }
        guard retry.numRetries >= 0, retry.backoffBaseInterval >= 0 else {
            throw ConfigRejection(description: "\(context): RetryPolicy numRetries and backoffBaseInterval must not be negative")
        }
        return CompiledRetry(conditions: conditions, numRetries: retry.numRetries, perTryTimeout: nil,
                             backoffBase: MeshDuration(nanoseconds: Int64(retry.backoffBaseInterval * 1_000_000_000)))
    }

    static func circuitBreaking(_ settings: GatewayCircuitBreaking) -> CircuitBreaking {
        var result = CircuitBreaking()
        result.minRequestAmount = settings.minRequestAmount
        result.statTimeWindow = .seconds(Int64(settings.statTimeWindow))
        result.degradedTimeWindow = .seconds(Int64(settings.degradedTimeWindow))
        if let slow = settings.slowTimeThreshold { result.slowTimeThreshold = MeshDuration(nanoseconds: Int64(slow * 1_000_000_000)) }
        result.slowAmountThreshold = settings.slowAmountThreshold
        result.slowRatioThreshold = settings.slowRatioThreshold
        result.errorAmountThreshold = settings.errorAmountThreshold
        result.errorRatioThreshold = settings.errorRatioThreshold
        result.degradedStatusCode = settings.degradedStatusCode
        result.degradedResponseContent = settings.degradedResponseContent ?? ""
        return result
    }
}
