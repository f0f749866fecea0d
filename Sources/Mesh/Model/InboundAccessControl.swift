/// Who may reach one inbound port without a mesh identity, and where they go (from AccessControl
/// resources, guides 7.2): FSM's AccessControl traffic match. A meshed pod's inbound refuses a
/// client that presents no mesh certificate unless its address is in `sourceIPRanges`; a client
/// whose certificate names one of `authenticatedPrincipals` (an AccessCert's SAN; `*`: any) is
/// admitted the same way. Admitted clients take a wildcard route to `targetClusters`.
public struct InboundAccessControl: Hashable, Sendable {
    /// CIDRs, sorted.
    public var sourceIPRanges: [String]
    /// Certificate identities, sorted; `*` admits any certificate of the mesh's CA.
    public var authenticatedPrincipals: [String]
    /// The port's local cluster(s).
    public var targetClusters: [WeightedCluster]

    public static let anyPrincipal = "*"

    public init(sourceIPRanges: [String] = [], authenticatedPrincipals: [String] = [], targetClusters: [WeightedCluster] = []) {
        self.sourceIPRanges = sourceIPRanges
        self.authenticatedPrincipals = authenticatedPrincipals
        self.targetClusters = targetClusters
    }

    /// `{"SourceIPRanges":[...],"AuthenticatedPrincipals":[...],"TargetClusters":{...}}`.
    public var jsonValue: JSONValue {
        .object([
            ("SourceIPRanges", .array(sourceIPRanges.map { .string($0) })),
            ("AuthenticatedPrincipals", .array(authenticatedPrincipals.map { .string($0) })),
            ("TargetClusters", JSONValue.clusters(targetClusters)),
        ])
    }

    init(_ reader: JSONReader) throws(ProxyConfigDecodingError) {
        self.init(sourceIPRanges: try reader.optionalStrings("SourceIPRanges") ?? [],
                  authenticatedPrincipals: try reader.optionalStrings("AuthenticatedPrincipals") ?? [],
                  targetClusters: try reader.optionalWeightedClusters("TargetClusters") ?? [])
    }
}
