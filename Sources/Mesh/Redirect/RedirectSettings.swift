import MeshModel

/// What a pod's traffic capture is built from: the sidecar's uid and listener ports, the ports that
/// are never intercepted, and the outbound/inbound exclusion and inclusion knobs of the guide's
/// "Iptables Redirection" page. Values are validated once here, so rule generation cannot fail.
public struct RedirectSettings: Hashable, Sendable {
    /// The sidecar's reserved uid; its own connections are never redirected (no loops).
    public static let defaultProxyUID = 1500
    public static let defaultOutboundListenerPort = 15001
    public static let defaultInboundListenerPort = 15003
    /// Ports the guide reserves for the sidecar's own listeners, never intercepted in either
    /// direction: 15000 admin, 15010 Prometheus, 15901–15903 rewritten HTTP probes,
    /// 15904 fsm-healthcheck (tcpSocket probes).
    public static let reservedPorts = [15000, 15010, 15901, 15902, 15903, 15904]

    public static let outboundIPRangeExclusionAnnotation = "flomesh.io/outbound-ip-range-exclusion-list"
    public static let outboundIPRangeInclusionAnnotation = "flomesh.io/outbound-ip-range-inclusion-list"
    public static let outboundPortExclusionAnnotation = "flomesh.io/outbound-port-exclusion-list"
    public static let inboundPortExclusionAnnotation = "flomesh.io/inbound-port-exclusion-list"

    public let proxyUID: Int
    public let outboundListenerPort: Int
    public let inboundListenerPort: Int
    /// Destination ports that bypass the sidecar inbound and outbound.
    public let bypassPorts: [Int]
    /// Outbound destinations never redirected; they win over inclusions.
    public let outboundIPRangeExclusions: [IPv4Range]
    /// When non-empty, only outbound destinations in these ranges are redirected.
    public let outboundIPRangeInclusions: [IPv4Range]
    public let outboundPortExclusions: [Int]
    public let inboundPortExclusions: [Int]

    /// Validates every value; duplicates are dropped keeping the first occurrence's position.
    public init(
        proxyUID: Int = RedirectSettings.defaultProxyUID,
        outboundListenerPort: Int = RedirectSettings.defaultOutboundListenerPort,
        inboundListenerPort: Int = RedirectSettings.defaultInboundListenerPort,
        bypassPorts: [Int] = RedirectSettings.reservedPorts,
        outboundIPRangeExclusions: [IPv4Range] = [],
        outboundIPRangeInclusions: [IPv4Range] = [],
        outboundPortExclusions: [Int] = [],
        inboundPortExclusions: [Int] = []
    ) throws(RedirectSettingsError) {
        // uid_t is 32 bits and (uid_t)-1 means "no uid".
        guard (0..<Int(UInt32.max)).contains(proxyUID) else { throw .invalidProxyUID(proxyUID) }
        try Self.checkPort(outboundListenerPort, .setting("outboundListenerPort"))
        try Self.checkPort(inboundListenerPort, .setting("inboundListenerPort"))
        guard outboundListenerPort != inboundListenerPort else { throw .listenerPortsClash(outboundListenerPort) }
        for port in bypassPorts { try Self.checkPort(port, .setting("bypassPorts")) }
        for port in outboundPortExclusions { try Self.checkPort(port, .setting("outboundPortExclusions")) }
        for port in inboundPortExclusions { try Self.checkPort(port, .setting("inboundPortExclusions")) }
        self.proxyUID = proxyUID
        self.outboundListenerPort = outboundListenerPort
        self.inboundListenerPort = inboundListenerPort
        self.bypassPorts = bypassPorts.uniqued()
        self.outboundIPRangeExclusions = outboundIPRangeExclusions.uniqued()
        self.outboundIPRangeInclusions = outboundIPRangeInclusions.uniqued()
        self.outboundPortExclusions = outboundPortExclusions.uniqued()
        self.inboundPortExclusions = inboundPortExclusions.uniqued()
    }

    /// The settings FSM's injector derives for one pod: the mesh-wide lists of
    /// `MeshConfig.spec.traffic` united with the pod's comma-separated annotations (mesh-wide
    /// entries first, then the pod's, duplicates dropped). An exclusion always wins over an
    /// inclusion because exclusions are matched first.
    public init(
        meshConfig: MeshConfig,
        podAnnotations: [String: String],
        proxyUID: Int = RedirectSettings.defaultProxyUID,
        outboundListenerPort: Int = RedirectSettings.defaultOutboundListenerPort,
        inboundListenerPort: Int = RedirectSettings.defaultInboundListenerPort
    ) throws(RedirectSettingsError) {
        let traffic = meshConfig.traffic
        let ipExclusions = try Self.ranges(traffic.outboundIPRangeExclusionList, .meshConfig("outboundIPRangeExclusionList"))
            + Self.ranges(annotation: Self.outboundIPRangeExclusionAnnotation, in: podAnnotations)
        let ipInclusions = try Self.ranges(traffic.outboundIPRangeInclusionList, .meshConfig("outboundIPRangeInclusionList"))
            + Self.ranges(annotation: Self.outboundIPRangeInclusionAnnotation, in: podAnnotations)
        let outboundPorts = try Self.ports(traffic.outboundPortExclusionList, .meshConfig("outboundPortExclusionList"))
            + Self.ports(annotation: Self.outboundPortExclusionAnnotation, in: podAnnotations)
        let inboundPorts = try Self.ports(traffic.inboundPortExclusionList, .meshConfig("inboundPortExclusionList"))
            + Self.ports(annotation: Self.inboundPortExclusionAnnotation, in: podAnnotations)
        try self.init(
            proxyUID: proxyUID,
            outboundListenerPort: outboundListenerPort,
            inboundListenerPort: inboundListenerPort,
            outboundIPRangeExclusions: ipExclusions,
            outboundIPRangeInclusions: ipInclusions,
            outboundPortExclusions: outboundPorts,
            inboundPortExclusions: inboundPorts
        )
    }

    // MARK: - Parsing

    private static func checkPort(_ port: Int, _ source: RedirectSettingSource) throws(RedirectSettingsError) {
        guard (1...65535).contains(port) else { throw .invalidPort(String(port), source: source) }
    }

    private static func ranges(_ texts: [String], _ source: RedirectSettingSource) throws(RedirectSettingsError) -> [IPv4Range] {
        var result: [IPv4Range] = []
        for text in texts { result.append(try range(text, source)) }
        return result
    }

    private static func range(_ text: some StringProtocol, _ source: RedirectSettingSource) throws(RedirectSettingsError) -> IPv4Range {
        if let range = IPv4Range(text) { return range }
        let trimmed = String(text.trimmingASCIIWhitespace())
        // MeshConfig accepts IPv6 ranges, but these rules program the IPv4 nat table only.
        if trimmed.contains(":") { throw .ipv6RangeNotSupported(trimmed, source: source) }
        throw .invalidIPRange(trimmed, source: source)
    }

    private static func ports(_ values: [Int], _ source: RedirectSettingSource) throws(RedirectSettingsError) -> [Int] {
        for port in values { try checkPort(port, source) }
        return values
    }

    private static func ranges(annotation key: String, in annotations: [String: String]) throws(RedirectSettingsError) -> [IPv4Range] {
        var result: [IPv4Range] = []
        for item in try listItems(annotation: key, in: annotations) { result.append(try range(item, .podAnnotation(key))) }
        return result
    }

    private static func ports(annotation key: String, in annotations: [String: String]) throws(RedirectSettingsError) -> [Int] {
        var result: [Int] = []
        for item in try listItems(annotation: key, in: annotations) {
            guard item.allSatisfy({ $0.isASCII && $0.isNumber }), item.count <= 5, let port = Int(item), (1...65535).contains(port) else {
                throw .invalidPort(String(item), source: .podAnnotation(key))
            }
            result.append(port)
        }
        return result
    }

    /// A comma-separated annotation value; an absent or blank annotation is an empty list, an empty
    /// item between commas is an error (it is almost always a typo).
    private static func listItems(annotation key: String, in annotations: [String: String]) throws(RedirectSettingsError) -> [Substring] {
        guard let value = annotations[key], !value.trimmingASCIIWhitespace().isEmpty else { return [] }
        var items: [Substring] = []
        for raw in value.split(separator: ",", omittingEmptySubsequences: false) {
            let item = raw.trimmingASCIIWhitespace()
            if item.isEmpty { throw .emptyListItem(value, source: .podAnnotation(key)) }
            items.append(item)
        }
        return items
    }
}

/// Where a rejected value came from, so the message points at the thing to fix.
public enum RedirectSettingSource: Hashable, Sendable, CustomStringConvertible {
    /// A field of `MeshConfig.spec.traffic`.
    case meshConfig(String)
    /// A pod annotation key.
    case podAnnotation(String)
    /// A `RedirectSettings` parameter set in code.
    case setting(String)

    public var description: String {
        switch self {
        case .meshConfig(let field): "MeshConfig spec.traffic.\(field)"
        case .podAnnotation(let key): "pod annotation \(key)"
        case .setting(let name): "redirect setting \(name)"
        }
    }
}

public enum RedirectSettingsError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalidIPRange(String, source: RedirectSettingSource)
    case ipv6RangeNotSupported(String, source: RedirectSettingSource)
    case invalidPort(String, source: RedirectSettingSource)
    case emptyListItem(String, source: RedirectSettingSource)
    case invalidProxyUID(Int)
    case listenerPortsClash(Int)

    public var description: String {
        switch self {
        case .invalidIPRange(let text, let source):
            "\(source): \"\(text)\" is not an IPv4 range in CIDR notation such as 10.244.0.0/16"
        case .ipv6RangeNotSupported(let text, let source):
            "\(source): \"\(text)\" is an IPv6 range; traffic capture programs the IPv4 nat table only"
        case .invalidPort(let text, let source):
            "\(source): \"\(text)\" is not a port number between 1 and 65535"
        case .emptyListItem(let value, let source):
            "\(source): \"\(value)\" has an empty item; expected a comma-separated list"
        case .invalidProxyUID(let uid):
            "proxy uid \(uid) is not a valid user id (0...4294967294)"
        case .listenerPortsClash(let port):
            "the outbound and inbound listeners cannot share port \(port)"
        }
    }
}

extension Array where Element: Hashable {
    /// The elements in order with later duplicates removed.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
