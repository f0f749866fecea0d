import MeshModel

/// The Egress policies of one sidecar (`Spec.EgressPolicy`), compiled: which egress destination a
/// rule allows (guides 3.8.1, demos.md 6.3). Pure; the sidecar asks it for destinations no traffic
/// match claims.
/// - HTTP (a rule of protocol `http` on the destination's port): the request's Host must be one of
///   the rule's hosts, or the destination address in one of its ranges (neither given: any); then
///   the path, method and headers must meet one of its routes (none named: any request). A request
///   whose host a rule names but whose route no rule allows is forbidden (FSM's 403 "Access denied").
/// - TLS (`https`): the server name the client sent must be a host of the rule, or the address in a range.
/// - TCP (`tcp`, `tcp-server-first`): the destination address in a range (none given: any).
struct EgressPolicyTable: Sendable {
    struct Rule: Sendable {
        var policy: String
        var port: Int
        var `protocol`: EgressProtocol
        var hosts: Set<String>
        /// `*.example.com` hosts, as `.example.com`.
        var hostSuffixes: [String]
        var ranges: [AddressRange]
        var routes: [Route]?
        var limits: ClusterLimits
        var connectTimeout: MeshDuration?
    }

    struct Route: Sendable {
        var path: PatternMatcher
        var methods: Set<String>?
        var headers: [(name: String, value: PatternMatcher)]
    }

    enum HTTPVerdict: Equatable, Sendable {
        /// The rule at this index allows it.
        case allowed(Int)
        /// A rule names the destination but none of its routes the request: 403.
        case forbidden
        /// No rule names the destination.
        case unmatched
    }

    private(set) var rules: [Rule] = []

    var isEmpty: Bool { rules.isEmpty }

    init() {}

    init(compiling spec: EgressPolicySpec?) throws(ConfigRejection) {
        for rule in spec?.rules ?? [] { rules.append(try Self.compile(rule)) }
    }

    private static func compile(_ rule: EgressRule) throws(ConfigRejection) -> Rule {
        var ranges: [AddressRange] = []
        for text in rule.ipRanges {
            guard let range = AddressRange(parsing: text) else { throw ConfigRejection(description: "egress policy \(rule.policy): bad IP range \"\(text)\"") }
            ranges.append(range)
        }
        let routes = try rule.routes.map { list throws(ConfigRejection) in
            var compiled: [Route] = []
            for route in list { compiled.append(try compile(route, policy: rule.policy)) }
            return compiled
        }
        let settings = rule.connectionSettings ?? ConnectionSettings()
        return Rule(policy: rule.policy, port: rule.port, protocol: rule.protocol, hosts: Set(rule.hosts.filter { !$0.hasPrefix("*.") }),
                    hostSuffixes: rule.hosts.filter { $0.hasPrefix("*.") }.map { String($0.dropFirst()) }, ranges: ranges, routes: routes,
                    limits: ClusterLimits(rule.connectionSettings), connectTimeout: settings.tcp.connectTimeout > .zero ? settings.tcp.connectTimeout : nil)
    }

    private static func compile(_ route: EgressRoute, policy: String) throws(ConfigRejection) -> Route {
        func pattern(_ text: String) throws(ConfigRejection) -> PatternMatcher {
            do { return try PatternMatcher(compiling: text) } catch { throw ConfigRejection(description: "egress policy \(policy): \(error)") }
        }
        var headers: [(name: String, value: PatternMatcher)] = []
        for header in route.headers ?? [] { headers.append((header.name.lowercased(), try pattern(header.valueRegex))) }
        return Route(path: try pattern(route.pathRegex), methods: route.methods.map { Set($0.map { $0.uppercased() }) }, headers: headers)
    }

    /// An HTTP request to `destination` with Host `host` (its port, if any, removed here).
    func http(destination: SocketAddress, head: HTTPRequestHead) -> HTTPVerdict {
        let host = Self.hostName(head.authority)
        var named = false
        for (index, rule) in rules.enumerated() where rule.protocol == .http && rule.port == destination.port && names(rule, host: host, address: destination.ip) {
            named = true
            guard let routes = rule.routes else { return .allowed(index) }
            if routes.contains(where: { Self.route($0, admits: head) }) { return .allowed(index) }
        }
        return named ? .forbidden : .unmatched
    }

    /// A connection to `destination` (TLS with `serverName` when the shell read one): the rule
    /// that allows it.
    func connection(destination: SocketAddress, serverName: String?) -> Int? {
        rules.indices.first { index in
            let rule = rules[index]
            guard rule.port == destination.port else { return false }
            switch rule.protocol {
            case .http: return false
            case .https: return names(rule, host: serverName?.lowercased(), address: destination.ip)
            case .tcp, .tcpServerFirst: return rule.ranges.isEmpty || inRanges(rule, destination.ip)
            }
        }
    }

    /// Whether a rule on `destination`'s port names TLS server names: the shell should read the
    /// ClientHello's SNI before asking `connection`.
    func readsServerName(to destination: SocketAddress) -> Bool {
        rules.contains { $0.port == destination.port && $0.protocol == .https && !($0.hosts.isEmpty && $0.hostSuffixes.isEmpty) }
    }

    /// Whether a connection to `destination` carries HTTP as far as the rules tell: true for a
    /// port only `http` rules name, false for one only non-HTTP rules name, nil otherwise.
    func carriesHTTP(to destination: SocketAddress) -> Bool? {
        let onPort = rules.filter { $0.port == destination.port && ($0.ranges.isEmpty || inRanges($0, destination.ip)) }
        guard !onPort.isEmpty else { return nil }
        if onPort.allSatisfy({ $0.protocol.isHTTP }) { return true }
        if onPort.allSatisfy({ !$0.protocol.isHTTP }) { return false }
        return nil
    }

    private func names(_ rule: Rule, host: String?, address: String) -> Bool {
        if rule.hosts.isEmpty, rule.hostSuffixes.isEmpty, rule.ranges.isEmpty { return true }
        if let host, rule.hosts.contains(host) || rule.hostSuffixes.contains(where: { host.hasSuffix($0) }) { return true }
        return inRanges(rule, address)
    }

    private func inRanges(_ rule: Rule, _ address: String) -> Bool {
        let parsed = AddressRange.parseIPv4(address)
        return rule.ranges.contains { $0.contains(ip: address, parsed: parsed) }
    }

    private static func route(_ route: Route, admits head: HTTPRequestHead) -> Bool {
        if let methods = route.methods, !methods.contains(head.method.uppercased()) { return false }
        guard route.path.matches(Sidecar.pathWithoutQuery(head.path)) else { return false }
        return route.headers.allSatisfy { header in head.header(header.name).map { header.value.matches($0[...]) } ?? false }
    }

    /// `host[:port]` → `host`, lowercased (`[v6]:port` → `v6`).
    static func hostName(_ authority: String) -> String? {
        guard !authority.isEmpty else { return nil }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close]).lowercased()
        }
        if let colon = authority.lastIndex(of: ":"), authority.firstIndex(of: ":") == colon { return String(authority[..<colon]).lowercased() }
        return authority.lowercased()
    }
}
