/// The Egress policies that apply to one proxy (`Spec.EgressPolicy` in its config), as the
/// controller computed them from the Egresses naming the proxy's ServiceAccount: one rule per
/// Egress port. The sidecar allows an egress destination a rule matches (and no other, unless
/// `Traffic.EnableEgress` passes it through).
public struct EgressPolicySpec: Hashable, Sendable {
    public var rules: [EgressRule]

    public init(rules: [EgressRule] = []) {
        self.rules = rules
    }
}

/// One port of one Egress.
public struct EgressRule: Hashable, Sendable {
    /// `namespace/name` of the Egress.
    public var policy: String
    public var port: Int
    public var `protocol`: EgressProtocol
    /// HTTP: the request's Host; HTTPS: the TLS server name. Empty: any host.
    public var hosts: [String]
    /// Destination CIDRs. Empty (and no hosts): any address.
    public var ipRanges: [String]
    /// HTTP: the HTTPRouteGroup matches the request must meet; nil: any request.
    public var routes: [EgressRoute]?
    /// From an UpstreamTrafficSetting match: the destination's connection limits.
    public var connectionSettings: ConnectionSettings?

    public init(policy: String, port: Int, protocol: EgressProtocol, hosts: [String] = [], ipRanges: [String] = [], routes: [EgressRoute]? = nil,
                connectionSettings: ConnectionSettings? = nil) {
        self.policy = policy
        self.port = port
        self.protocol = `protocol`
        self.hosts = hosts
        self.ipRanges = ipRanges
        self.routes = routes
        self.connectionSettings = connectionSettings
    }
}

/// One HTTPRouteGroup match: the whole path against `pathRegex`, the method, the headers.
public struct EgressRoute: Hashable, Sendable {
    public var pathRegex: String
    /// nil: any method.
    public var methods: [String]?
    /// nil: any headers.
    public var headers: [HeaderMatch]?

    public init(pathRegex: String, methods: [String]? = nil, headers: [HeaderMatch]? = nil) {
        self.pathRegex = pathRegex
        self.methods = methods
        self.headers = headers
    }
}

extension EgressPolicySpec {
    public var jsonValue: JSONValue {
        .object([("Rules", .array(rules.map(\.jsonValue)))])
    }

    init(_ reader: JSONReader) throws(ProxyConfigDecodingError) {
        var rules: [EgressRule] = []
        for item in try reader.optionalArray("Rules") ?? [] { rules.append(try EgressRule(item)) }
        self.init(rules: rules)
    }
}

extension EgressRule {
    var jsonValue: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("Policy", .string(policy)), ("Port", .int(port)), ("Protocol", .string(`protocol`.rawValue)),
            ("Hosts", .array(hosts.map { .string($0) })), ("IPRanges", .array(ipRanges.map { .string($0) })),
        ]
        if let routes { pairs.append(("Routes", .array(routes.map(\.jsonValue)))) }
        if let connectionSettings { pairs.append(("ConnectionSettings", connectionSettings.jsonValue)) }
        return .object(pairs)
    }

    init(_ reader: JSONReader) throws(ProxyConfigDecodingError) {
        let name = try reader.string("Protocol")
        guard let parsed = EgressProtocol(rawValue: name) else {
            throw reader.error("Protocol", "expected http, https, tcp or tcp-server-first, found \(name)")
        }
        var routes: [EgressRoute]?
        if let items = try reader.optionalArray("Routes") {
            routes = []
            for item in items { routes!.append(try EgressRoute(item)) }
        }
        self.init(policy: try reader.optionalString("Policy") ?? "", port: try reader.port("Port"), protocol: parsed,
                  hosts: try reader.optionalStrings("Hosts") ?? [], ipRanges: try reader.optionalStrings("IPRanges") ?? [], routes: routes,
                  connectionSettings: try reader.optionalObject("ConnectionSettings").map { reader throws(ProxyConfigDecodingError) in try ConnectionSettings(reader) })
    }
}

extension EgressRoute {
    var jsonValue: JSONValue {
        var pairs: [(String, JSONValue)] = [("PathRegex", .string(pathRegex))]
        if let methods { pairs.append(("Methods", .array(methods.map { .string($0) }))) }
        if let headers { pairs.append(("Headers", .object(headers.map { ($0.name, .string($0.valueRegex)) }))) }
        return .object(pairs)
    }

    init(_ reader: JSONReader) throws(ProxyConfigDecodingError) {
        var headers: [HeaderMatch]?
        if try reader.optionalObject("Headers") != nil {
            headers = []
            for (name, value) in try reader.mapEntries("Headers") { headers!.append(HeaderMatch(name: name, valueRegex: try value.stringValue())) }
        }
        self.init(pathRegex: try reader.string("PathRegex"), methods: try reader.optionalStrings("Methods"), headers: headers)
    }
}
