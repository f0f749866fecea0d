/// The order of a sidecar's HTTP filters per direction, as FSM's sidecar config lists its Pipy
/// modules per chain (`Chains` in its `config.json`). `Spec.Chains` in the config JSON:
/// `{"InboundHTTP": ["http-routing", ...], "OutboundHTTP": [...]}`; a direction left out keeps the
/// engine's default order. The engine checks the names when the config is applied.
public struct HTTPChainsConfig: Hashable, Sendable {
    public var inboundHTTP: [String]?
    public var outboundHTTP: [String]?

    public init(inboundHTTP: [String]? = nil, outboundHTTP: [String]? = nil) {
        self.inboundHTTP = inboundHTTP
        self.outboundHTTP = outboundHTTP
    }

    /// The filters each direction may list, in their default order.
    public static let inboundNames = ["http-routing", "access-control", "throttle-service", "throttle-route", "route-filters"]
    public static let outboundNames = ["http-routing", "route-filters"]

    var jsonValue: JSONValue {
        var pairs: [(String, JSONValue)] = []
        if let inboundHTTP { pairs.append(("InboundHTTP", .array(inboundHTTP.map { .string($0) }))) }
        if let outboundHTTP { pairs.append(("OutboundHTTP", .array(outboundHTTP.map { .string($0) }))) }
        return .object(pairs)
    }

    init(_ reader: JSONReader) throws(ProxyConfigDecodingError) {
        self.init(inboundHTTP: try reader.optionalStrings("InboundHTTP"), outboundHTTP: try reader.optionalStrings("OutboundHTTP"))
    }
}
