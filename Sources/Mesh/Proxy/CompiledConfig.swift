import MeshModel

/// A ProxyConfig validated and turned into index-based tables for the per-request paths.
/// Built once per apply; never mutated afterwards (the mutable state lives in `Sidecar`).
struct CompiledConfig: Sendable {
    var clusters: [CompiledCluster] = []
    var clusterIndexByName: [String: Int] = [:]
    var outbound: [CompiledTrafficMatch] = []
    var outboundByPort: [Int: [Int]] = [:]
    var inbound: [CompiledTrafficMatch] = []
    var inboundByPort: [Int: Int] = [:]
    /// Initial weights of every weighted choice (route traffic splits, TCP targets), by balancer index.
    var balancerWeights: [[Int]] = []
    var buckets: [BucketSpec] = []
}

struct CompiledCluster: Sendable {
    var name: String
    var endpoints: [SocketAddress]
    var endpointWeights: [Int]
    var limits: ClusterLimits
    var retry: CompiledRetry?
    var circuitBreaking: CircuitBreaking?
}

struct ClusterLimits: Hashable, Sendable {
    var maxConnections = Int.max
    var maxPendingRequests = Int.max
    var maxRequests = Int.max
    var maxRequestsPerConnection = Int.max
    var maxRetries = Int.max

    init() {}

    init(_ settings: ConnectionSettings?) {
        guard let settings else { return }
        func limit(_ value: Int) -> Int { value >= ConnectionSettings.unlimited ? Int.max : max(0, value) }
        maxConnections = limit(settings.tcp.maxConnections)
        maxPendingRequests = limit(settings.http.maxPendingRequests)
        maxRequests = limit(settings.http.maxRequests)
        maxRequestsPerConnection = settings.http.maxRequestsPerConnection.map { $0 <= 0 ? Int.max : $0 } ?? Int.max
        maxRetries = limit(settings.http.maxRetries)
    }
}

struct CompiledRetry: Sendable {
    var conditions: RetryConditions
    var numRetries: Int
    var perTryTimeout: MeshDuration?
    var backoffBase: MeshDuration
}

/// A weighted choice among clusters, with the index of its balancer state in the sidecar.
struct TargetSet: Sendable {
    var clusters: [Int]
    var balancer: Int
}

struct HeaderMatcher: Sendable {
    var name: String
    var value: PatternMatcher
}

struct CompiledRule: Sendable {
    var path: PatternMatcher
    /// nil: any method.
    var methods: [String]?
    var headers: [HeaderMatcher]
    var targets: TargetSet
    /// nil: anyone.
    var allowedServices: Set<String>?
    var bucket: Int?
    var rateLimitedResponse: HTTPResponseHead?

    func matches(method: String, path: Substring, head: HTTPRequestHead) -> Bool {
        if let methods, !methods.contains(method) { return false }
        guard self.path.matches(path) else { return false }
        for header in headers {
            guard let value = head.header(header.name), header.value.matches(Substring(value)) else { return false }
        }
        return true
    }
}

struct CompiledService: Sendable {
    var name: String
    var rules: [CompiledRule]
    var bucket: Int?
    var rateLimitedResponse: HTTPResponseHead?
}

struct CompiledTrafficMatch: Sendable {
    var port: Int
    var appProtocol: AppProtocol
    var isHTTP: Bool
    /// Outbound destination ranges.
    var destinationRanges: [AddressRange] = []
    /// Inbound source allow-list; nil: anyone.
    var sourceRanges: [AddressRange]?
    /// Host form → index into `services`.
    var hosts: [String: Int] = [:]
    var services: [CompiledService] = []
    var tcpTargets: TargetSet?
    /// Inbound TCP: identities allowed to connect; nil: anyone.
    var allowedEndpoints: Set<String>?
    /// Inbound: the new-connection bucket and its counter.
    var connectionBucket: Int?
    /// The counter a refused connection increments: its name, resolved to an index once applied.
    var connectionRateLimitedCounterName: String?
    var connectionRateLimitedCounter: Int?

    func contains(destination ip: String, parsed: UInt32?) -> Bool {
        destinationRanges.contains { $0.contains(ip: ip, parsed: parsed) }
    }

    /// The service a Host header names: as written, then with or without this port.
    func serviceIndex(forHost rawHost: String) -> Int? {
        let host = rawHost.utf8.contains(where: { $0 >= 65 && $0 <= 90 }) ? rawHost.lowercased() : rawHost
        if let index = hosts[host] { return index }
        if let colon = host.lastIndex(of: ":") {
            if let index = hosts[String(host[..<colon])] { return index }
        } else if let index = hosts["\(host):\(port)"] {
            return index
        }
        return nil
    }
}

/// A rate-limit bucket the config asks for, with the key that lets its state survive an apply.
struct BucketSpec: Sendable {
    var key: String
    var bucket: TokenBucket
}

struct ConfigRejection: Error, CustomStringConvertible {
    var description: String
}

extension CompiledConfig {
    /// Validates and compiles; any problem rejects the whole config.
    static func compile(_ config: ProxyConfig) throws(ConfigRejection) -> CompiledConfig {
        var compiled = CompiledConfig()
        var regexCache: [String: PatternMatcher] = [:]
        func matcher(_ pattern: String, _ context: @autoclosure () -> String) throws(ConfigRejection) -> PatternMatcher {
            if let cached = regexCache[pattern] { return cached }
            do {
                let compiledPattern = try PatternMatcher(compiling: pattern)
                regexCache[pattern] = compiledPattern
                return compiledPattern
            } catch {
                throw ConfigRejection(description: "\(context()): \(error)")
            }
        }

        // Clusters: outbound then inbound, one table. An identical repeat is tolerated.
        var seen: [String: ClusterConfig] = [:]
        for cluster in config.outbound.clustersConfigs + config.inbound.clustersConfigs {
            if let earlier = seen[cluster.name] {
                guard earlier == cluster else { throw ConfigRejection(description: "cluster \(cluster.name) is defined twice with different settings") }
                continue
            }
            seen[cluster.name] = cluster
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
            compiled.clusterIndexByName[cluster.name] = compiled.clusters.count
            compiled.clusters.append(CompiledCluster(
                name: cluster.name,
                endpoints: endpoints,
                endpointWeights: weights,
                limits: ClusterLimits(cluster.connectionSettings),
                retry: retry,
                circuitBreaking: cluster.connectionSettings?.http.circuitBreaking
            ))
        }

        func targets(_ weighted: [WeightedCluster], _ context: @autoclosure () -> String) throws(ConfigRejection) -> TargetSet {
            var indices: [Int] = []
            var weights: [Int] = []
            for target in weighted {
                guard let index = compiled.clusterIndexByName[target.name] else {
                    throw ConfigRejection(description: "\(context()): target cluster \(target.name) is not in ClustersConfigs")
                }
                indices.append(index)
                weights.append(target.weight)
            }
            compiled.balancerWeights.append(weights)
            return TargetSet(clusters: indices, balancer: compiled.balancerWeights.count - 1)
        }

        func bucket(_ limit: RateLimitConfig?, key: String) -> Int? {
            guard let limit else { return nil }
            compiled.buckets.append(BucketSpec(key: key, bucket: TokenBucket(limit)))
            return compiled.buckets.count - 1
        }

        func services(_ rules: [ServiceRouteRules], direction: String, port: Int) throws(ConfigRejection) -> [CompiledService] {
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
                        rateLimitedResponse: rule.rateLimit.map(rateLimitedResponse)
                    ))
                }
                result.append(CompiledService(
                    name: service.service,
                    rules: compiledRules,
                    bucket: bucket(service.rateLimit, key: "\(direction)|\(port)|\(service.service)"),
                    rateLimitedResponse: service.rateLimit.map(rateLimitedResponse)
                ))
            }
            return result
        }

        func hostTable(_ mappings: [HostMapping], services: [CompiledService]) -> [String: Int] {
            var table: [String: Int] = [:]
            table.reserveCapacity(mappings.count)
            for mapping in mappings {
                guard let index = services.firstIndex(where: { $0.name == mapping.service }) else { continue }
                // Hosts are nearly always lower-case ASCII already: skip building a new string then.
                let host = mapping.host.utf8.contains(where: { ($0 >= 65 && $0 <= 90) || $0 >= 0x80 }) ? mapping.host.lowercased() : mapping.host
                if table[host] == nil { table[host] = index }
            }
            return table
        }

        func ranges(_ texts: [String], _ context: @autoclosure () -> String) throws(ConfigRejection) -> [AddressRange] {
            var result: [AddressRange] = []
            for text in texts {
                guard let range = AddressRange(parsing: text) else { throw ConfigRejection(description: "\(context()): bad address range \"\(text)\"") }
                result.append(range)
            }
            return result
        }

        for match in config.outbound.trafficMatches {
            let compiledServices = try services(match.httpServiceRouteRules, direction: "outbound", port: match.port)
            var entry = CompiledTrafficMatch(port: match.port, appProtocol: match.appProtocol, isHTTP: match.appProtocol == .http || match.appProtocol == .grpc)
            entry.destinationRanges = try ranges(match.destinationIPRanges, "outbound port \(match.port)")
            entry.services = compiledServices
            entry.hosts = hostTable(match.httpHostPort2Service, services: compiledServices)
            if let tcp = match.targetClusters { entry.tcpTargets = try targets(tcp, "outbound port \(match.port)") }
            compiled.outboundByPort[match.port, default: []].append(compiled.outbound.count)
            compiled.outbound.append(entry)
        }

        for match in config.inbound.trafficMatches {
            guard compiled.inboundByPort[match.port] == nil else { throw ConfigRejection(description: "inbound port \(match.port) appears twice") }
            let compiledServices = try services(match.httpServiceRouteRules, direction: "inbound", port: match.port)
            var entry = CompiledTrafficMatch(port: match.port, appProtocol: match.appProtocol, isHTTP: match.appProtocol == .http || match.appProtocol == .grpc)
            entry.sourceRanges = try match.sourceIPRanges.map { list throws(ConfigRejection) in try ranges(list, "inbound port \(match.port) source") }
            entry.services = compiledServices
            entry.hosts = hostTable(match.httpHostPort2Service, services: compiledServices)
            if let tcp = match.targetClusters { entry.tcpTargets = try targets(tcp, "inbound port \(match.port)") }
            entry.allowedEndpoints = match.allowedEndpoints.map(Set.init)
            if let limit = match.tcpRateLimit {
                entry.connectionBucket = bucket(limit, key: "inbound|\(match.port)|connections")
                let name = "local_rate_limit.inbound_\(rateLimitLabel(match).map { "\($0)_" } ?? "")\(match.port)_\(match.appProtocol.rawValue).rate_limited"
                entry.connectionRateLimitedCounterName = name
            }
            compiled.inboundByPort[match.port] = compiled.inbound.count
            compiled.inbound.append(entry)
        }
        return compiled
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
