import MeshRedirect

/// The arguments of `fsm init`, the injected init container's command: the pod's traffic capture
/// knobs as the webhook merged them at injection time (MeshConfig lists, then the pod's
/// annotations; F1-061/062), each a comma-separated list, absent when empty.
public struct InitArguments: Hashable, Sendable {
    public static let outboundIPRangeExclusion = "--outbound-ip-range-exclusion-list"
    public static let outboundIPRangeInclusion = "--outbound-ip-range-inclusion-list"
    public static let outboundPortExclusion = "--outbound-port-exclusion-list"
    public static let inboundPortExclusion = "--inbound-port-exclusion-list"

    public var outboundIPRangeExclusions: [IPv4Range] = []
    public var outboundIPRangeInclusions: [IPv4Range] = []
    public var outboundPortExclusions: [Int] = []
    public var inboundPortExclusions: [Int] = []

    public init() {}

    public init(_ settings: RedirectSettings) {
        outboundIPRangeExclusions = settings.outboundIPRangeExclusions
        outboundIPRangeInclusions = settings.outboundIPRangeInclusions
        outboundPortExclusions = settings.outboundPortExclusions
        inboundPortExclusions = settings.inboundPortExclusions
    }

    /// `["--outbound-ip-range-exclusion-list", "10.0.0.1/32,...", ...]`, only the non-empty lists.
    public var arguments: [String] {
        var result: [String] = []
        func add(_ flag: String, _ items: [String]) {
            if !items.isEmpty { result += [flag, items.joined(separator: ",")] }
        }
        add(Self.outboundIPRangeExclusion, outboundIPRangeExclusions.map(\.description))
        add(Self.outboundIPRangeInclusion, outboundIPRangeInclusions.map(\.description))
        add(Self.outboundPortExclusion, outboundPortExclusions.map(String.init))
        add(Self.inboundPortExclusion, inboundPortExclusions.map(String.init))
        return result
    }

    /// The lists as given on the command line (each optional); the error names the flag and item.
    public init(outboundIPRangeExclusionList: String?, outboundIPRangeInclusionList: String?,
                outboundPortExclusionList: String?, inboundPortExclusionList: String?) throws(InitArgumentError) {
        outboundIPRangeExclusions = try Self.ranges(outboundIPRangeExclusionList, flag: Self.outboundIPRangeExclusion)
        outboundIPRangeInclusions = try Self.ranges(outboundIPRangeInclusionList, flag: Self.outboundIPRangeInclusion)
        outboundPortExclusions = try Self.ports(outboundPortExclusionList, flag: Self.outboundPortExclusion)
        inboundPortExclusions = try Self.ports(inboundPortExclusionList, flag: Self.inboundPortExclusion)
    }

    /// The capture settings for these lists and the sidecar's uid.
    public func redirectSettings(proxyUID: Int = RedirectSettings.defaultProxyUID) throws(RedirectSettingsError) -> RedirectSettings {
        try RedirectSettings(proxyUID: proxyUID, outboundIPRangeExclusions: outboundIPRangeExclusions, outboundIPRangeInclusions: outboundIPRangeInclusions,
                             outboundPortExclusions: outboundPortExclusions, inboundPortExclusions: inboundPortExclusions)
    }

    private static func items(_ list: String?) -> [Substring] {
        guard let list else { return [] }
        return list.split(separator: ",", omittingEmptySubsequences: false).map { $0.drop(while: { $0 == " " }) }
    }

    private static func ranges(_ list: String?, flag: String) throws(InitArgumentError) -> [IPv4Range] {
        var result: [IPv4Range] = []
        for item in items(list) {
            guard let range = IPv4Range(item) else {
                throw InitArgumentError(flag: flag, item: String(item), expected: "an IPv4 range in CIDR notation such as 10.244.0.0/16")
            }
            result.append(range)
        }
        return result
    }

    private static func ports(_ list: String?, flag: String) throws(InitArgumentError) -> [Int] {
        var result: [Int] = []
        for item in items(list) {
            guard item.count <= 5, item.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(item), (1...65535).contains(port) else {
                throw InitArgumentError(flag: flag, item: String(item), expected: "a port number between 1 and 65535")
            }
            result.append(port)
        }
        return result
    }
}

/// An `fsm init` list item that does not parse.
public struct InitArgumentError: Error, Hashable, Sendable, CustomStringConvertible {
    public var flag: String
    public var item: String
    public var expected: String

    public init(flag: String, item: String, expected: String) {
        self.flag = flag
        self.item = item
        self.expected = expected
    }

    public var description: String { "\(flag): \"\(item)\" is not \(expected)" }
}
