import MeshModel

/// A ProxyConfig validated and turned into index-based tables for the per-request paths.
/// Built once per apply; never mutated afterwards (the mutable state lives in `Sidecar`).
///
/// The outbound clusters come first in every table, then what the inbound adds; that first part
/// (`CompiledOutbound`) depends on the outbound alone and is shared by the configs of one catalog.
struct CompiledConfig: Sendable {
    /// Outbound clusters, then the inbound clusters whose names the outbound does not have.
    var clusters = LayeredArray<CompiledCluster>()
    /// The names of the inbound part of `clusters` (the outbound's are in `CompiledOutbound`).
    var inboundClusterIndexByName: [String: Int] = [:]
    var outboundClusterIndexByName: [String: Int] = [:]
    var outbound = OutboundTables()
    var inbound: [CompiledTrafficMatch] = []
    /// Inbound traffic match by port (a table without `Hasher`, read by every inbound request).
    var inboundByPort = IntegerTable<Int, Int>()
    /// Initial weights of every weighted choice (route traffic splits, TCP targets), by balancer index.
    var balancerWeights = LayeredArray<[Int]>()
    var buckets = LayeredArray<BucketSpec>()
    /// The listener-level filter chains of the inbound HTTP ports and outbound HTTP traffic matches.
    var inboundChain = HTTPFilterChain.sidecarInbound
    var outboundChain = HTTPFilterChain.sidecarOutbound
    /// MeshConfig `traffic.enableEgress`: unmatched destinations pass through (`Sidecar+Egress`).
    var egressEnabled = false
    /// `Spec.EgressRefusedRanges`: destinations no egress reaches.
    var egressRefused: [AddressRange] = []
    /// `Spec.EgressPolicy`: the Egress rules of this proxy (`Sidecar+EgressPolicy`).
    var egressPolicy = EgressPolicyTable()
    /// The passthrough clusters made so far, one per original destination, after every other.
    var egressClusterIndexByName: [String: Int] = [:]
    /// `Spec.EgressGateway`: egress goes through it (`Sidecar+EgressGateway`); nil: straight out.
    var egressGateway: CompiledEgressGateway?
    /// A gateway's listeners and cluster policies (`Sidecar.applyGateway`); nil for a sidecar.
    var gateway: CompiledGateway?

    func clusterIndex(named name: String) -> Int? {
        outboundClusterIndexByName[name] ?? inboundClusterIndexByName[name] ?? egressClusterIndexByName[name]
    }
}

/// A table whose first part is shared (copy-on-write) with other configs' tables and whose rest
/// is this config's own; indices run across both.
struct LayeredArray<Element: Sendable>: RandomAccessCollection, Sendable {
    var shared: [Element] = []
    var own: [Element] = []

    var startIndex: Int { 0 }
    var endIndex: Int { shared.count + own.count }

    /// A getter the optimizer inlines, not a `_read` coroutine: through the coroutine each read of
    /// a compiled cluster's field (about ten a request) retained and released the cluster.
    subscript(index: Int) -> Element {
        @inline(__always) get {
            index < shared.count ? shared[index] : own[index - shared.count]
        }
    }
}

/// A cluster as compiled: immutable, so a reference that the per-request paths read without
/// copying its arrays and strings (a struct was copied whole through `LayeredArray`'s accessor).
final class CompiledCluster: Sendable {
    let name: String
    let endpoints: [SocketAddress]
    let endpointWeights: [Int]
    let limits: ClusterLimits
    let retry: CompiledRetry?
    let circuitBreaking: CircuitBreaking?
    /// The route timeout of the cluster's requests; nil: none.
    let requestTimeout: MeshDuration?
    /// How long a new connection may take to open; nil: no engine deadline.
    let connectTimeout: MeshDuration?
    /// An egress passthrough cluster (`Sidecar+Egress`).
    let isEgress: Bool
    /// An egress cluster through the egress gateway: its destination (its endpoint is the gateway).
    let tunnelTarget: SocketAddress?

    init(name: String, endpoints: [SocketAddress], endpointWeights: [Int], limits: ClusterLimits, retry: CompiledRetry?, circuitBreaking: CircuitBreaking?,
         requestTimeout: MeshDuration?, connectTimeout: MeshDuration?, isEgress: Bool = false, tunnelTarget: SocketAddress? = nil) {
        self.name = name
        self.endpoints = endpoints
        self.endpointWeights = endpointWeights
        self.limits = limits
        self.retry = retry
        self.circuitBreaking = circuitBreaking
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.isEgress = isEgress
        self.tunnelTarget = tunnelTarget
    }
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

/// Immutable once compiled, and shared: the route match tries rules per request, and a struct
/// rule was copied whole for each try (its matchers, targets, filters: a retain and a release
/// of each, ~2% of a simulated request), as `CompiledCluster` was (DECISIONS 227).
final class CompiledRule: Sendable {
    let path: PatternMatcher
    /// nil: any method.
    let methods: [String]?
    let headers: [HeaderMatcher]
    let targets: TargetSet
    /// nil: anyone.
    let allowedServices: Set<String>?
    let bucket: Int?
    let rateLimitedResponse: HTTPResponseHead?
    /// The rule's own filters, run at the chain's `routeFilters` place (none in a sidecar's config yet).
    let filters: [HTTPFilter]

    init(path: PatternMatcher, methods: [String]?, headers: [HeaderMatcher], targets: TargetSet, allowedServices: Set<String>?, bucket: Int?,
         rateLimitedResponse: HTTPResponseHead?, filters: [HTTPFilter] = []) {
        self.path = path
        self.methods = methods
        self.headers = headers
        self.targets = targets
        self.allowedServices = allowedServices
        self.bucket = bucket
        self.rateLimitedResponse = rateLimitedResponse
        self.filters = filters
    }

    /// This rule with other filters (the same matchers and targets).
    func with(filters: [HTTPFilter]) -> CompiledRule {
        CompiledRule(path: path, methods: methods, headers: headers, targets: targets, allowedServices: allowedServices, bucket: bucket,
                     rateLimitedResponse: rateLimitedResponse, filters: filters)
    }

    /// Whether the request matches the rule. `path` is the request's path without its query,
    /// worked out for the first rule that matches on it: a `.*` rule (every rule of a permissive
    /// mesh) does not, and the scan for `?` cost more than the rest of the match.
    func matches(method: String, head: HTTPRequestHead, path: inout Substring?) -> Bool {
        if let methods, !methods.contains(method) { return false }
        if !self.path.matchesEverything {
            let requestPath = path ?? Sidecar.pathWithoutQuery(head.path)
            path = requestPath
            guard self.path.matches(requestPath) else { return false }
        }
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
    var hosts = HostTable()
    var services: [CompiledService] = []
    var tcpTargets: TargetSet?
    /// Inbound TCP: identities allowed to connect; nil: anyone.
    var allowedEndpoints: Set<String>?
    /// Inbound: the new-connection bucket and its counter.
    var connectionBucket: Int?
    /// The counter a refused connection increments: its name, resolved to an index once applied.
    var connectionRateLimitedCounterName: String?
    var connectionRateLimitedCounter: Int?
    /// Inbound: who may use the port (mesh peers, and what AccessControls admit).
    var admission = InboundAdmission.meshOnly

    func contains(destination ip: String, parsed: UInt32?) -> Bool {
        destinationRanges.contains { $0.contains(ip: ip, parsed: parsed) }
    }

    /// The service a Host header names: as written, then with or without this port.
    func serviceIndex(forHost rawHost: String) -> Int? {
        CompiledTrafficMatch.serviceIndex(forHost: rawHost, in: hosts, port: port)
    }

    /// `serviceIndex(forHost:)` of a match with these `hosts` and `port`.
    static func serviceIndex(forHost rawHost: String, in hosts: HostTable, port: Int) -> Int? {
        // Tables hold hosts without ASCII upper case, so a Host found as written is the one its
        // lower-cased form would find: nearly every request, without the scan for upper case.
        if let index = hosts[rawHost] { return index }
        let host = normalizedHost(rawHost)
        return (host == rawHost ? nil : hosts[host]) ?? hosts[otherHostForm(host, port: port)]
    }

    /// A Host header as host tables hold it: lower-cased.
    static func normalizedHost(_ rawHost: String) -> String {
        hasASCIIUppercase(rawHost) ? rawHost.lowercased() : rawHost
    }

    /// The form looked up when the host as written is not in a table: without its port
    /// (`host:port`), or with `port` added (`host`).
    static func otherHostForm(_ host: String, port: Int) -> String {
        if let colon = host.utf8.lastIndex(of: UInt8(ascii: ":")) { return String(host[..<colon]) }
        return host + ":" + String(port)
    }

    private static func hasASCIIUppercase(_ text: String) -> Bool {
        let found = text.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.contains { $0 &- UInt8(ascii: "A") < 26 }
        }
        return found ?? text.utf8.contains { $0 &- UInt8(ascii: "A") < 26 }
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
