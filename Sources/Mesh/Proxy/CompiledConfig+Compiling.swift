import MeshModel

/// The part of a compiled config that depends on its outbound alone: the outbound clusters and,
/// when they compile on their own, the outbound matches. Configs whose outbounds share their
/// stores (a permissive catalog stamped for each client) share one of these.
struct CompiledOutbound: Sendable {
    var clusters: [CompiledCluster] = []
    /// The config each cluster was compiled from, to check an inbound cluster of the same name.
    var clusterSources: [ClusterConfig] = []
    var clusterIndexByName: [String: Int] = [:]
    /// nil when the matches do not compile on their own (a problem, or a target that only the
    /// inbound clusters could provide): each config then compiles them after its inbound clusters,
    /// exactly as it compiles a config whole.
    var matches: CompiledMatches?

    struct CompiledMatches: Sendable {
        var tables: OutboundTables
        var balancerWeights: [[Int]]
        var buckets: [BucketSpec]
    }

    /// Fails only when a cluster is malformed or defined twice with different settings.
    static func compile(_ outbound: OutboundConfig) -> Result<CompiledOutbound, ConfigRejection> {
        var result = CompiledOutbound()
        do throws(ConfigRejection) {
            for cluster in outbound.clustersConfigs {
                if let earlier = result.clusterIndexByName[cluster.name] {
                    guard result.clusterSources[earlier] == cluster else { throw CompiledCluster.definedTwice(cluster.name) }
                    continue
                }
                result.clusterIndexByName[cluster.name] = result.clusters.count
                result.clusters.append(try CompiledCluster(compiling: cluster))
                result.clusterSources.append(cluster)
            }
        } catch {
            return .failure(error)
        }
        var compiler = MatchCompiler(outboundClusters: result.clusterIndexByName)
        var matches: [CompiledTrafficMatch] = []
        matches.reserveCapacity(outbound.trafficMatchCount)
        do throws(ConfigRejection) {
            for index in 0..<outbound.trafficMatchCount { matches.append(try compiler.outbound(outbound.trafficMatch(at: index))) }
            result.matches = CompiledMatches(tables: OutboundTables(matches), balancerWeights: compiler.balancerWeights, buckets: compiler.buckets)
        } catch {
            result.matches = nil
        }
        return .success(result)
    }
}

extension CompiledConfig {
    /// Validates and compiles; any problem rejects the whole config. Clusters first (outbound,
    /// then inbound; an identical repeat is tolerated), then outbound and inbound matches: the
    /// first problem in that order is the one reported.
    static func compile(_ config: ProxyConfig, outbound: Result<CompiledOutbound, ConfigRejection>) throws(ConfigRejection) -> CompiledConfig {
        let shared = try outbound.get()
        var compiled = CompiledConfig()
        compiled.clusters.shared = shared.clusters
        compiled.outboundClusterIndexByName = shared.clusterIndexByName
        var inboundSources: [ClusterConfig] = []
        for cluster in config.inbound.clustersConfigs {
            if let earlier = shared.clusterIndexByName[cluster.name] {
                guard shared.clusterSources[earlier] == cluster else { throw CompiledCluster.definedTwice(cluster.name) }
                continue
            }
            if let earlier = compiled.inboundClusterIndexByName[cluster.name] {
                guard inboundSources[earlier - shared.clusters.count] == cluster else { throw CompiledCluster.definedTwice(cluster.name) }
                continue
            }
            compiled.inboundClusterIndexByName[cluster.name] = compiled.clusters.count
            compiled.clusters.own.append(try CompiledCluster(compiling: cluster))
            inboundSources.append(cluster)
        }

        var compiler: MatchCompiler
        if let matches = shared.matches {
            compiled.outbound = matches.tables
            compiled.balancerWeights.shared = matches.balancerWeights
            compiled.buckets.shared = matches.buckets
            compiler = MatchCompiler(outboundClusters: shared.clusterIndexByName, inboundClusters: compiled.inboundClusterIndexByName,
                                     balancerBase: matches.balancerWeights.count, bucketBase: matches.buckets.count)
        } else {
            compiler = MatchCompiler(outboundClusters: shared.clusterIndexByName, inboundClusters: compiled.inboundClusterIndexByName)
            var matches: [CompiledTrafficMatch] = []
            for index in 0..<config.outbound.trafficMatchCount { matches.append(try compiler.outbound(config.outbound.trafficMatch(at: index))) }
            compiled.outbound = OutboundTables(matches)
        }

        for match in config.inbound.trafficMatches {
            guard compiled.inboundByPort[match.port] == nil else { throw ConfigRejection(description: "inbound port \(match.port) appears twice") }
            compiled.inboundByPort[match.port] = compiled.inbound.count
            compiled.inbound.append(try compiler.inbound(match))
        }
        compiled.balancerWeights.own = compiler.balancerWeights
        compiled.buckets.own = compiler.buckets
        compiled.inboundChain = try HTTPFilterChain.compile(config.spec.chains?.inboundHTTP, inbound: true)
        compiled.outboundChain = try HTTPFilterChain.compile(config.spec.chains?.outboundHTTP, inbound: false)
        compiled.egressEnabled = config.spec.enableEgress
        compiled.egressRefused = config.spec.egressRefusedRanges.compactMap { AddressRange(parsing: $0) }
        compiled.egressPolicy = try EgressPolicyTable(compiling: config.spec.egressPolicy)
        compiled.egressGateway = try CompiledEgressGateway(compiling: config.spec.egressGateway)
        return compiled
    }
}

extension CompiledCluster {
    convenience init(compiling cluster: ClusterConfig) throws(ConfigRejection) {
        var endpoints: [SocketAddress] = []
        var weights: [Int] = []
        for endpoint in cluster.endpoints {
            guard let address = SocketAddress(parsing: endpoint.address) else {
                throw ConfigRejection(description: "cluster \(cluster.name): bad endpoint address \"\(endpoint.address)\"")
            }
            // Weight 0 marks a failover-only endpoint in FSM; it takes no regular traffic.
            guard endpoint.weight > 0 else { continue }
            endpoints.append(address)
            weights.append(endpoint.weight)
        }
        let retry = cluster.retryPolicy.map { policy in
            CompiledRetry(
                conditions: RetryConditions(parsing: policy.retryOn),
                numRetries: max(0, policy.numRetries),
                perTryTimeout: policy.perTryTimeout.flatMap { $0 > .zero ? $0 : nil },
                backoffBase: policy.retryBackoffBaseInterval > .zero ? policy.retryBackoffBaseInterval : RetryBackoff.defaultBase
            )
        }
        let settings = cluster.connectionSettings ?? ConnectionSettings()
        self.init(name: cluster.name, endpoints: endpoints, endpointWeights: weights, limits: ClusterLimits(cluster.connectionSettings),
                  retry: retry, circuitBreaking: cluster.connectionSettings?.http.circuitBreaking,
                  requestTimeout: settings.http.requestTimeout > .zero ? settings.http.requestTimeout : nil,
                  connectTimeout: settings.tcp.connectTimeout > .zero ? settings.tcp.connectTimeout : nil)
    }

    static func definedTwice(_ name: String) -> ConfigRejection {
        ConfigRejection(description: "cluster \(name) is defined twice with different settings")
    }
}

/// Compiles traffic matches against known cluster names, collecting the balancers and buckets
/// they ask for (numbered from the given bases, after those of a shared outbound).
private struct MatchCompiler {
    var outboundClusters: [String: Int]
    var inboundClusters: [String: Int] = [:]
    var balancerBase = 0
    var bucketBase = 0
    var balancerWeights: [[Int]] = []
    var buckets: [BucketSpec] = []
    var regexCache: [String: PatternMatcher] = [:]

    mutating func outbound(_ match: OutboundTrafficMatch) throws(ConfigRejection) -> CompiledTrafficMatch {
        let compiledServices = try services(match.httpServiceRouteRules, direction: "outbound", port: match.port)
        var entry = CompiledTrafficMatch(port: match.port, appProtocol: match.appProtocol, isHTTP: match.appProtocol == .http || match.appProtocol == .grpc)
        entry.destinationRanges = try ranges(match.destinationIPRanges, "outbound port \(match.port)")
        entry.services = compiledServices
        entry.hosts = hostTable(match.httpHostPort2Service, services: compiledServices)
        if let tcp = match.targetClusters { entry.tcpTargets = try targets(tcp, "outbound port \(match.port)") }
        return entry
    }

    mutating func inbound(_ match: InboundTrafficMatch) throws(ConfigRejection) -> CompiledTrafficMatch {
        let compiledServices = try services(match.httpServiceRouteRules, direction: "inbound", port: match.port)
        var entry = CompiledTrafficMatch(port: match.port, appProtocol: match.appProtocol, isHTTP: match.appProtocol == .http || match.appProtocol == .grpc)
        entry.sourceRanges = try match.sourceIPRanges.map { list throws(ConfigRejection) in try ranges(list, "inbound port \(match.port) source") }
        entry.services = compiledServices
        entry.hosts = hostTable(match.httpHostPort2Service, services: compiledServices)
        if let tcp = match.targetClusters { entry.tcpTargets = try targets(tcp, "inbound port \(match.port)") }
        entry.allowedEndpoints = match.allowedEndpoints.map(Set.init)
        if let control = match.accessControl {
            entry.admission = InboundAdmission(
                sourceRanges: try ranges(control.sourceIPRanges, "inbound port \(match.port) access control source"),
                principals: Set(control.authenticatedPrincipals.filter { $0 != InboundAccessControl.anyPrincipal }),
                anyPrincipal: control.authenticatedPrincipals.contains(InboundAccessControl.anyPrincipal),
                targets: try targets(control.targetClusters, "inbound port \(match.port) access control"))
        }
        if let ingress = match.ingress { try admitIngress(ingress, of: match, into: &entry) }
        if let limit = match.tcpRateLimit {
            entry.connectionBucket = bucket(limit, key: "inbound|\(match.port)|connections")
            let name = "local_rate_limit.inbound_\(Self.rateLimitLabel(match).map { "\($0)_" } ?? "")\(match.port)_\(match.appProtocol.rawValue).rate_limited"
            entry.connectionRateLimitedCounterName = name
        }
        return entry
    }

    /// IngressBackend (F2-001) opens the border as an AccessControl does: `http` backends admit
    /// the sources' addresses without a mesh identity, `https` ones a client certificate naming a
    /// principal (any, with `skipClientCertValidation`); admitted clients go to the port's local
    /// cluster (its first route's targets, or its TCP targets).
    private mutating func admitIngress(_ ingress: IngressAdmission, of match: InboundTrafficMatch, into entry: inout CompiledTrafficMatch) throws(ConfigRejection) {
        let context = "inbound port \(match.port) ingress"
        switch ingress.protocol {
        case .http:
            entry.admission.sourceRanges += try ranges(ingress.sourceIPRanges, "\(context) source")
        case .https:
            if ingress.skipClientCertValidation { entry.admission.anyPrincipal = true } else { entry.admission.principals.formUnion(ingress.principals) }
        }
        guard entry.admission.targets == nil else { return }
        let local = match.httpServiceRouteRules.first?.rules.first?.targetClusters ?? match.targetClusters ?? []
        guard !local.isEmpty else { throw ConfigRejection(description: "\(context): the port has no local cluster to admit clients to") }
        entry.admission.targets = try targets(local, context)
    }

    private mutating func matcher(_ pattern: String, _ context: @autoclosure () -> String) throws(ConfigRejection) -> PatternMatcher {
        if let cached = regexCache[pattern] { return cached }
        do {
            let compiledPattern = try PatternMatcher(compiling: pattern)
            regexCache[pattern] = compiledPattern
            return compiledPattern
        } catch {
            throw ConfigRejection(description: "\(context()): \(error)")
        }
    }

    private mutating func targets(_ weighted: [WeightedCluster], _ context: @autoclosure () -> String) throws(ConfigRejection) -> TargetSet {
        var indices: [Int] = []
        var weights: [Int] = []
        for target in weighted {
            guard let index = outboundClusters[target.name] ?? inboundClusters[target.name] else {
                throw ConfigRejection(description: "\(context()): target cluster \(target.name) is not in ClustersConfigs")
            }
            indices.append(index)
            weights.append(target.weight)
        }
        balancerWeights.append(weights)
        return TargetSet(clusters: indices, balancer: balancerBase + balancerWeights.count - 1)
    }

    private mutating func bucket(_ limit: RateLimitConfig?, key: String) -> Int? {
        guard let limit else { return nil }
        buckets.append(BucketSpec(key: key, bucket: TokenBucket(limit)))
        return bucketBase + buckets.count - 1
    }

    private mutating func services(_ rules: [ServiceRouteRules], direction: String, port: Int) throws(ConfigRejection) -> [CompiledService] {
        var result: [CompiledService] = []
        for service in rules {
            let context = "\(direction) port \(port) service \(service.service)"
            var compiledRules: [CompiledRule] = []
            for (ruleIndex, rule) in service.rules.enumerated() {
                let path = try matcher(rule.pathRegex, "\(context) path")
                var headers: [HeaderMatcher] = []
                for header in rule.headers ?? [] {
                    headers.append(HeaderMatcher(name: header.name, value: try matcher(header.valueRegex, "\(context) header \(header.name)")))
                }
                let methods = rule.methods.flatMap { list -> [String]? in
                    list.contains("*") ? nil : list.map { $0.uppercased() }
                }
                compiledRules.append(CompiledRule(
                    path: path,
                    methods: methods,
                    headers: headers,
                    targets: try targets(rule.targetClusters, "\(context) route \(rule.pathRegex)"),
                    allowedServices: rule.allowedServices.map(Set.init),
                    bucket: bucket(rule.rateLimit, key: "\(direction)|\(port)|\(service.service)|route\(ruleIndex)|\(rule.pathRegex)"),
                    rateLimitedResponse: rule.rateLimit.map(Self.rateLimitedResponse)
                ))
            }
            result.append(CompiledService(
                name: service.service,
                rules: compiledRules,
                bucket: bucket(service.rateLimit, key: "\(direction)|\(port)|\(service.service)"),
                rateLimitedResponse: service.rateLimit.map(Self.rateLimitedResponse)
            ))
        }
        return result
    }

    private func hostTable(_ mappings: [HostMapping], services: [CompiledService]) -> HostTable {
        var table = HostTable()
        for mapping in mappings {
            guard let index = services.firstIndex(where: { $0.name == mapping.service }) else { continue }
            // Hosts are nearly always lower-case ASCII already: skip building a new string then.
            let host = mapping.host.utf8.contains(where: { ($0 >= 65 && $0 <= 90) || $0 >= 0x80 }) ? mapping.host.lowercased() : mapping.host
            table.insertIfAbsent(host, value: index)
        }
        return table
    }

    private func ranges(_ texts: [String], _ context: @autoclosure () -> String) throws(ConfigRejection) -> [AddressRange] {
        var result: [AddressRange] = []
        for text in texts {
            guard let range = AddressRange(parsing: text) else { throw ConfigRejection(description: "\(context()): bad address range \"\(text)\"") }
            result.append(range)
        }
        return result
    }

    private static func rateLimitedResponse(_ limit: RateLimitConfig) -> HTTPResponseHead {
        let status = (400...599).contains(limit.responseStatusCode) ? limit.responseStatusCode : 429
        return HTTPResponseHead(status: status, headers: limit.responseHeadersToAdd.map { HTTPHeader(name: $0.name, value: $0.value) })
    }

    /// `<ns>/<svc>` from the port's local cluster (`ns/svc|port|local`), as FSM labels its
    /// connection limits (`demo/fortio`); nil when the config names no cluster.
    private static func rateLimitLabel(_ match: InboundTrafficMatch) -> String? {
        let clusterName = match.targetClusters?.first?.name
            ?? match.httpServiceRouteRules.first?.rules.first?.targetClusters.first?.name
        guard let clusterName, let bar = clusterName.firstIndex(of: "|"), clusterName[..<bar].contains("/") else { return nil }
        return String(clusterName[..<bar])
    }
}
