/// Who may reach one inbound port of a sidecar from outside the mesh, as the IngressBackends
/// naming the port's Service and target port say (F2-001): the source addresses of `Service` and
/// `IPRange` sources, and the client-certificate SANs of `AuthenticatedPrincipal` ones. Data
/// only: the sidecar's inbound border enforces it (plaintext from outside is refused unless admitted).
public struct IngressAdmission: Hashable, Sendable {
    /// `namespace/name` of the IngressBackends, sorted.
    public var policies: [String]
    /// `https`: the client must speak TLS with a certificate naming one of `principals`.
    public var `protocol`: IngressBackendProtocol
    /// `tls.skipClientCertValidation`.
    public var skipClientCertValidation: Bool
    /// CIDRs (`IPRange` sources, and `<ip>/32` of each endpoint of a `Service` source), sorted.
    public var sourceIPRanges: [String]
    /// SANs of `AuthenticatedPrincipal` sources, sorted.
    public var principals: [String]

    public init(policies: [String], protocol: IngressBackendProtocol = .http, skipClientCertValidation: Bool = false, sourceIPRanges: [String] = [], principals: [String] = []) {
        self.policies = policies
        self.protocol = `protocol`
        self.skipClientCertValidation = skipClientCertValidation
        self.sourceIPRanges = sourceIPRanges
        self.principals = principals
    }

    public var jsonValue: JSONValue {
        .object([
            ("Policies", .array(policies.map { .string($0) })),
            ("Protocol", .string(`protocol`.rawValue)),
            ("SkipClientCertValidation", .bool(skipClientCertValidation)),
            ("SourceIPRanges", .array(sourceIPRanges.map { .string($0) })),
            ("AuthenticatedPrincipals", .array(principals.map { .string($0) })),
        ])
    }

    init(_ reader: JSONReader) throws(ProxyConfigDecodingError) {
        let protocolName = try reader.string("Protocol")
        guard let parsed = IngressBackendProtocol(rawValue: protocolName) else {
            throw reader.error("Protocol", "expected http or https, found \(protocolName)")
        }
        self.init(policies: try reader.optionalStrings("Policies") ?? [], protocol: parsed,
                  skipClientCertValidation: try reader.optionalBool("SkipClientCertValidation") ?? false,
                  sourceIPRanges: try reader.optionalStrings("SourceIPRanges") ?? [], principals: try reader.optionalStrings("AuthenticatedPrincipals") ?? [])
    }
}
