/// A config document that is valid JSON but not a `ProxyConfig`: where (a dotted path) and why.
public struct ProxyConfigDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// The inverse of `ProxyConfig.jsonValue` (ProxyConfig+JSON.swift): reads the Pipy-shaped
/// `config.json` back. Maps come back in key order, the order the writer prints them in;
/// traffic matches are put back in port order, as the controller emits them.
extension ProxyConfig {
    public init(jsonText: String) throws(ProxyConfigDecodingError) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: jsonText)
        } catch {
            throw ProxyConfigDecodingError(path: "", message: error.description)
        }
        try self.init(jsonValue: value)
    }

    public init(jsonValue root: JSONValue) throws(ProxyConfigDecodingError) {
        let reader = JSONReader(root, path: "")
        let spec = try reader.object("Spec")
        let traffic = try spec.optionalObject("Traffic")
        let flags = try spec.optionalObject("FeatureFlags")
        self.init(
            version: try reader.optionalString("Version") ?? "",
            serviceIdentity: try spec.string("ServiceIdentity"),
            spec: ProxySpec(
                sidecarLogLevel: try spec.optionalString("SidecarLogLevel") ?? "error",
                enableEgress: try traffic?.optionalBool("EnableEgress") ?? false,
                enablePermissiveTrafficPolicyMode: try traffic?.optionalBool("EnablePermissiveTrafficPolicyMode") ?? false,
                enableRetryPolicy: try flags?.optionalBool("EnableRetryPolicy") ?? false,
                workload: try ProxyWorkload(spec.optionalObject("Workload")),
                accessLog: try spec.optionalObject("Observability")?.optionalObject("RemoteLogging")?.optionalBool("Enable") ?? false,
                chains: try spec.optionalObject("Chains").map { reader throws(ProxyConfigDecodingError) in try HTTPChainsConfig(reader) },
                tracing: try TracingSpec(spec.optionalObject("Tracing")),
                remoteLogging: try RemoteLoggingSpec(spec.optionalObject("Observability")?.optionalObject("RemoteLogging")),
                egressPolicy: try spec.optionalObject("EgressPolicy").map { reader throws(ProxyConfigDecodingError) in try EgressPolicySpec(reader) },
                egressGateway: try spec.optionalObject("EgressGateway").map { reader throws(ProxyConfigDecodingError) in try EgressGatewaySpec(reader) }
            ),
            inbound: try InboundConfig(reader.optionalObject("Inbound")),
            outbound: try OutboundConfig(reader.optionalObject("Outbound"))
        )
        self.spec.egressRefusedRanges = try Self.egressRefusedRanges(spec: spec)
    }
}

extension ProxyConfig {
    /// `Spec.EgressRefusedRanges`: CIDRs; a malformed one refuses the config (a range meant to keep
    /// a tunnel off the gateway's host must not silently drop out).
    static func egressRefusedRanges(spec: JSONReader) throws(ProxyConfigDecodingError) -> [String] {
        let ranges = try spec.optionalStrings("EgressRefusedRanges") ?? []
        for (index, range) in ranges.enumerated() where !ManifestDecoder.isCIDR(range) {
            throw ProxyConfigDecodingError(path: spec.path + ".EgressRefusedRanges[\(index)]", message: "expected an IP range in CIDR notation such as 127.0.0.0/8, got '\(range)'")
        }
        return ranges
    }
}

extension TracingSpec {
    init?(_ reader: JSONReader?) throws(ProxyConfigDecodingError) {
        guard let reader else { return nil }
        let fraction = try reader.sampledFraction()
        self.init(address: try reader.string("Address"), endpoint: try reader.optionalString("Endpoint") ?? "/api/v2/spans", sampledFraction: fraction)
    }
}

extension InboundConfig {
    init(_ reader: JSONReader?) throws(ProxyConfigDecodingError) {
        guard let reader else { self.init(); return }
        var matches: [InboundTrafficMatch] = []
        for (_, match) in try reader.mapEntries("TrafficMatches") {
            matches.append(try InboundTrafficMatch(match))
        }
        matches.sort { $0.port < $1.port }
        self.init(trafficMatches: matches, clustersConfigs: try ClusterConfig.decodeAll(reader))
    }
}

extension OutboundConfig {
    init(_ reader: JSONReader?) throws(ProxyConfigDecodingError) {
        guard let reader else { self.init(); return }
        var matches: [OutboundTrafficMatch] = []
        for (_, group) in try reader.mapEntries("TrafficMatches") {
            for item in try group.arrayItems() { matches.append(try OutboundTrafficMatch(item)) }
        }
        // Each match by its own port, not its group's (found by fuzz-config-json: a group holding
        // several ports read back in another order from the config's own JSON). Stable: matches of
        // one port keep their printed order.
        let ordered = matches.enumerated().sorted { ($0.element.port, $0.offset) < ($1.element.port, $1.offset) }
        self.init(trafficMatches: ordered.map(\.element), clustersConfigs: try ClusterConfig.decodeAll(reader))
    }
}

extension OutboundTrafficMatch {
    init(_ reader: JSONReader) throws(ProxyConfigDecodingError) {
        self.init(
            port: try reader.port("Port"),
            appProtocol: try reader.appProtocol("Protocol"),
            destinationIPRanges: try reader.optionalStrings("DestinationIPRanges") ?? [],
            httpHostPort2Service: try reader.hostMappings("HttpHostPort2Service"),
            httpServiceRouteRules: try reader.serviceRouteRules("HttpServiceRouteRules", rateLimits: nil),
            targetClusters: try reader.optionalWeightedClusters("TargetClusters"),
            allowedEgressTraffic: try reader.optionalBool("AllowedEgressTraffic") ?? false,
            serviceIdentity: try reader.optionalString("ServiceIdentity") ?? ""
        )
    }
}

extension InboundTrafficMatch {
    init(_ reader: JSONReader) throws(ProxyConfigDecodingError) {
        var rateLimits: [String: RateLimitConfig] = [:]
        for (service, limit) in try reader.mapEntries("HttpRateLimits") {
            rateLimits[service] = try RateLimitConfig(limit)
        }
        self.init(
            port: try reader.port("Port"),
            appProtocol: try reader.appProtocol("Protocol"),
            sourceIPRanges: try reader.optionalStrings("SourceIPRanges"),
            httpHostPort2Service: try reader.hostMappings("HttpHostPort2Service"),
            httpServiceRouteRules: try reader.serviceRouteRules("HttpServiceRouteRules", rateLimits: rateLimits),
            targetClusters: try reader.optionalWeightedClusters("TargetClusters"),
            allowedEndpoints: try reader.optionalStrings("AllowedEndpoints"),
            tcpRateLimit: try reader.optionalObject("RateLimit").map { reader throws(ProxyConfigDecodingError) in try RateLimitConfig(reader) },
            ingress: try reader.optionalObject("IngressBackend").map { reader throws(ProxyConfigDecodingError) in try IngressAdmission(reader) },
            accessControl: try reader.optionalObject("AccessControl").map { reader throws(ProxyConfigDecodingError) in try InboundAccessControl(reader) }
        )
    }
}

extension RouteRule {
    init(pathRegex: String, _ reader: JSONReader) throws(ProxyConfigDecodingError) {
        var headers: [HeaderMatch]?
        if try reader.optionalObject("Headers") != nil {
            headers = []
            for (name, value) in try reader.mapEntries("Headers") { headers!.append(HeaderMatch(name: name, valueRegex: try value.stringValue())) }
        }
        self.init(
            pathRegex: pathRegex,
            headers: headers,
            methods: try reader.optionalStrings("Methods"),
            targetClusters: try reader.optionalWeightedClusters("TargetClusters") ?? [],
            allowedServices: try reader.optionalStrings("AllowedServices"),
            rateLimit: try reader.optionalObject("RateLimit").map { reader throws(ProxyConfigDecodingError) in try RateLimitConfig(reader) }
        )
    }
}

extension RateLimitConfig {
    init(_ reader: JSONReader) throws(ProxyConfigDecodingError) {
        var headers: [HeaderValue] = []
        for item in try reader.optionalArray("ResponseHeadersToAdd") ?? [] {
            headers.append(HeaderValue(name: try item.string("Name"), value: try item.string("Value")))
        }
        let limit = try reader.int("Limit")
        guard limit >= 0 else { throw reader.error("Limit", "must not be negative") }
        let period = try reader.duration("StatTimeWindow")
        guard period > .zero else { throw reader.error("StatTimeWindow", "must be positive") }
        self.init(
            limit: limit,
            period: period,
            capacity: try reader.optionalInt("Burst") ?? limit,
            responseStatusCode: try reader.optionalInt("ResponseStatusCode") ?? 429,
            responseHeadersToAdd: headers
        )
    }
}

extension ClusterConfig {
    static func decodeAll(_ reader: JSONReader) throws(ProxyConfigDecodingError) -> [ClusterConfig] {
        var clusters: [ClusterConfig] = []
        for (name, cluster) in try reader.mapEntries("ClustersConfigs") {
            var endpoints: [ClusterEndpoint] = []
            for (address, endpoint) in try cluster.mapEntries("Endpoints") {
                endpoints.append(ClusterEndpoint(address: address, weight: try endpoint.optionalInt("Weight") ?? 100))
            }
            clusters.append(ClusterConfig(
                name: name,
                endpoints: endpoints,
                connectionSettings: try cluster.optionalObject("ConnectionSettings").map { reader throws(ProxyConfigDecodingError) in try ConnectionSettings(reader) },
                retryPolicy: try cluster.optionalObject("RetryPolicy").map { reader throws(ProxyConfigDecodingError) in try RetryPolicy(reader) }
            ))
        }
        return clusters
    }
}

extension ConnectionSettings {
    init(_ reader: JSONReader) throws(ProxyConfigDecodingError) {
        self.init()
        if let tcpReader = try reader.optionalObject("tcp") {
            tcp.maxConnections = try tcpReader.optionalInt("MaxConnections") ?? tcp.maxConnections
            tcp.connectTimeout = try tcpReader.optionalDuration("ConnectTimeout") ?? tcp.connectTimeout
        }
        if let httpReader = try reader.optionalObject("http") {
            http.maxRequests = try httpReader.optionalInt("MaxRequests") ?? http.maxRequests
            http.maxRequestsPerConnection = try httpReader.optionalInt("MaxRequestsPerConnection")
            http.maxPendingRequests = try httpReader.optionalInt("MaxPendingRequests") ?? http.maxPendingRequests
            http.maxRetries = try httpReader.optionalInt("MaxRetries") ?? http.maxRetries
            http.circuitBreaking = try httpReader.optionalObject("CircuitBreaking").map { reader throws(ProxyConfigDecodingError) in try CircuitBreaking(reader) }
            http.requestTimeout = try httpReader.optionalDuration("RequestTimeout") ?? http.requestTimeout
        }
    }
}

extension CircuitBreaking {
    init(_ reader: JSONReader) throws(ProxyConfigDecodingError) {
        self.init()
        statTimeWindow = try reader.optionalDuration("StatTimeWindow") ?? statTimeWindow
        minRequestAmount = try reader.optionalInt("MinRequestAmount") ?? minRequestAmount
        degradedTimeWindow = try reader.optionalDuration("DegradedTimeWindow") ?? degradedTimeWindow
        slowTimeThreshold = try reader.optionalDuration("SlowTimeThreshold") ?? slowTimeThreshold
        slowAmountThreshold = try reader.optionalInt("SlowAmountThreshold")
        slowRatioThreshold = try reader.optionalDouble("SlowRatioThreshold")
        errorAmountThreshold = try reader.optionalInt("ErrorAmountThreshold")
        errorRatioThreshold = try reader.optionalDouble("ErrorRatioThreshold")
        degradedStatusCode = try reader.optionalInt("DegradedStatusCode") ?? degradedStatusCode
        degradedResponseContent = try reader.optionalString("DegradedResponseContent") ?? degradedResponseContent
    }
}

extension RetryPolicy {
    init(_ reader: JSONReader) throws(ProxyConfigDecodingError) {
        self.init(
            retryOn: try reader.optionalString("RetryOn") ?? "5xx",
            perTryTimeout: try reader.optionalDuration("PerTryTimeout"),
            numRetries: try reader.optionalInt("NumRetries") ?? 1,
            retryBackoffBaseInterval: try reader.optionalDuration("RetryBackoffBaseInterval") ?? .milliseconds(25)
        )
    }
}

// MARK: - Reader

/// A JSON value with the dotted path that led to it, for error messages.
struct JSONReader {
    let value: JSONValue
    let path: String

    init(_ value: JSONValue, path: String) {
        self.value = value
        self.path = path
    }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String, _ message: String) -> ProxyConfigDecodingError {
        ProxyConfigDecodingError(path: child(key), message: message)
    }

    /// The member `key`; nil when absent or null.
    func member(_ key: String) throws(ProxyConfigDecodingError) -> JSONValue? {
        guard case .object(let pairs) = value else { throw ProxyConfigDecodingError(path: path, message: "expected an object") }
        guard let found = pairs.first(where: { $0.0 == key })?.1, found != .null else { return nil }
        return found
    }

    func required(_ key: String) throws(ProxyConfigDecodingError) -> JSONValue {
        guard let found = try member(key) else { throw error(key, "missing") }
        return found
    }

    func object(_ key: String) throws(ProxyConfigDecodingError) -> JSONReader {
        let found = try required(key)
        guard case .object = found else { throw error(key, "expected an object") }
        return JSONReader(found, path: child(key))
    }

    func optionalObject(_ key: String) throws(ProxyConfigDecodingError) -> JSONReader? {
        guard let found = try member(key) else { return nil }
        guard case .object = found else { throw error(key, "expected an object") }
        return JSONReader(found, path: child(key))
    }

    /// A Go-style map (object or null): its entries in key order, as the writer prints them
    /// (`JSONValue.sortedMap`; FSM's Go controller prints maps sorted too). A map has no order, so
    /// a config reads the same whatever order its keys were written in, and reads back unchanged
    /// from its own JSON (found by fuzz-config-json: keys out of order changed a config through it).
    func mapEntries(_ key: String) throws(ProxyConfigDecodingError) -> [(String, JSONReader)] {
        guard let found = try member(key) else { return [] }
        guard case .object(let pairs) = found else { throw error(key, "expected an object") }
        let base = child(key)
        return pairs.sorted { $0.0 < $1.0 }.map { ($0.0, JSONReader($0.1, path: "\(base).\($0.0)")) }
    }

    func arrayItems() throws(ProxyConfigDecodingError) -> [JSONReader] {
        guard case .array(let items) = value else { throw ProxyConfigDecodingError(path: path, message: "expected an array") }
        return items.enumerated().map { JSONReader($0.element, path: "\(path)[\($0.offset)]") }
    }

    func optionalArray(_ key: String) throws(ProxyConfigDecodingError) -> [JSONReader]? {
        guard let found = try member(key) else { return nil }
        return try JSONReader(found, path: child(key)).arrayItems()
    }

    func stringValue() throws(ProxyConfigDecodingError) -> String {
        guard case .string(let text) = value else { throw ProxyConfigDecodingError(path: path, message: "expected a string") }
        return text
    }

    func string(_ key: String) throws(ProxyConfigDecodingError) -> String {
        guard case .string(let text) = try required(key) else { throw error(key, "expected a string") }
        return text
    }

    func optionalString(_ key: String) throws(ProxyConfigDecodingError) -> String? {
        guard let found = try member(key) else { return nil }
        guard case .string(let text) = found else { throw error(key, "expected a string") }
        return text
    }

    func optionalStrings(_ key: String) throws(ProxyConfigDecodingError) -> [String]? {
        guard let items = try optionalArray(key) else { return nil }
        var out: [String] = []
        for item in items { out.append(try item.stringValue()) }
        return out
    }

    func optionalBool(_ key: String) throws(ProxyConfigDecodingError) -> Bool? {
        guard let found = try member(key) else { return nil }
        guard case .bool(let flag) = found else { throw error(key, "expected true or false") }
        return flag
    }

    func optionalInt(_ key: String) throws(ProxyConfigDecodingError) -> Int? {
        guard let found = try member(key) else { return nil }
        switch found {
        case .int(let number):
            guard let exact = Int(exactly: number) else { throw error(key, "integer out of range") }
            return exact
        case .double(let number) where number == number.rounded() && abs(number) < 9e18:
            return Int(number)
        default:
            throw error(key, "expected an integer")
        }
    }

    func int(_ key: String) throws(ProxyConfigDecodingError) -> Int {
        guard let number = try optionalInt(key) else { throw error(key, "missing") }
        return number
    }

    func port(_ key: String) throws(ProxyConfigDecodingError) -> Int {
        let number = try int(key)
        guard (0...65535).contains(number) else { throw error(key, "not a port number") }
        return number
    }

    /// `SampledFraction` (tracing's, remote logging's): 0 … 1, 1 when absent.
    func sampledFraction() throws(ProxyConfigDecodingError) -> Double {
        let fraction = try optionalDouble("SampledFraction") ?? 1
        guard (0...1).contains(fraction) else { throw ProxyConfigDecodingError(path: path + ".SampledFraction", message: "expected a number from 0 to 1, got \(fraction)") }
        return fraction
    }

    func optionalDouble(_ key: String) throws(ProxyConfigDecodingError) -> Double? {
        guard let found = try member(key) else { return nil }
        switch found {
        case .int(let number): return Double(number)
        case .double(let number): return number
        default: throw error(key, "expected a number")
        }
    }

    /// Durations are printed as seconds.
    func optionalDuration(_ key: String) throws(ProxyConfigDecodingError) -> MeshDuration? {
        guard let seconds = try optionalDouble(key) else { return nil }
        guard seconds >= 0, seconds < 9.2e9 else { throw error(key, "duration out of range") }
        return MeshDuration(nanoseconds: Int64((seconds * 1_000_000_000).rounded()))
    }

    func duration(_ key: String) throws(ProxyConfigDecodingError) -> MeshDuration {
        guard let duration = try optionalDuration(key) else { throw error(key, "missing") }
        return duration
    }

    func appProtocol(_ key: String) throws(ProxyConfigDecodingError) -> AppProtocol {
        let text = try string(key)
        guard let parsed = AppProtocol(rawValue: text) else { throw error(key, "unknown protocol \"\(text)\"") }
        return parsed
    }

    func hostMappings(_ key: String) throws(ProxyConfigDecodingError) -> [HostMapping] {
        var out: [HostMapping] = []
        for (host, service) in try mapEntries(key) { out.append(HostMapping(host: host, service: try service.stringValue())) }
        return out
    }

    func optionalWeightedClusters(_ key: String) throws(ProxyConfigDecodingError) -> [WeightedCluster]? {
        guard try member(key) != nil else { return nil }
        var out: [WeightedCluster] = []
        for (name, weight) in try mapEntries(key) {
            guard case .int(let number) = weight.value, let exact = Int(exactly: number) else {
                throw ProxyConfigDecodingError(path: weight.path, message: "expected an integer weight")
            }
            out.append(WeightedCluster(name: name, weight: exact))
        }
        return out
    }

    /// `{fqdn: {pathRegex: rule}}`, with the service-level limits of `HttpRateLimits` (inbound).
    func serviceRouteRules(_ key: String, rateLimits: [String: RateLimitConfig]?) throws(ProxyConfigDecodingError) -> [ServiceRouteRules] {
        var out: [ServiceRouteRules] = []
        for (service, rules) in try mapEntries(key) {
            var decoded: [RouteRule] = []
            for (pathRegex, rule) in try rules.objectEntries() { decoded.append(try RouteRule(pathRegex: pathRegex, rule)) }
            out.append(ServiceRouteRules(service: service, rules: decoded, rateLimit: rateLimits?[service]))
        }
        return out
    }

    /// Entries of this value, which must be an object (`{}` is kept as no entries).
    func objectEntries() throws(ProxyConfigDecodingError) -> [(String, JSONReader)] {
        guard case .object(let pairs) = value else { throw ProxyConfigDecodingError(path: path, message: "expected an object") }
        return pairs.map { ($0.0, JSONReader($0.1, path: "\(path).\($0.0)")) }
    }
}

extension RemoteLoggingSpec {
    /// Only with an `Address`: a switch alone ships nowhere.
    init?(_ reader: JSONReader?) throws(ProxyConfigDecodingError) {
        guard let reader, let address = try reader.optionalString("Address") else { return nil }
        let fraction = try reader.sampledFraction()
        self.init(address: address, endpoint: try reader.optionalString("Endpoint") ?? RemoteLoggingSpec.defaultEndpoint,
                  authorization: try reader.optionalString("Authorization") ?? "", sampledFraction: fraction)
    }
}
