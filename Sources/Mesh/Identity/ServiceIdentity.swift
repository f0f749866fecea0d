import MeshModel

/// A workload identity in the mesh: a Kubernetes service account `sa` in namespace `ns`, written
/// `sa.ns.cluster.local` (FSM's form) and, as a SPIFFE ID, `spiffe://cluster.local/ns/<ns>/sa/<sa>`.
public struct ServiceIdentity: Hashable, Sendable, CustomStringConvertible {
    public let serviceAccount: String
    public let namespace: String
    public let trustDomain: String

    public init(serviceAccount: String, namespace: String, trustDomain: String = "cluster.local") {
        self.serviceAccount = serviceAccount
        self.namespace = namespace
        self.trustDomain = trustDomain
    }

    /// Parses `sa.ns.cluster.local` (or `sa.ns.<trust domain>`).
    public init(parsing text: String) throws(IdentityError) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts.allSatisfy({ !$0.isEmpty }) else {
            throw .invalidIdentity(text, reason: "expected <serviceaccount>.<namespace>.<trust domain>, e.g. bookbuyer.bookbuyer.cluster.local")
        }
        for part in parts where !part.allSatisfy(Self.isLabelCharacter) {
            throw .invalidIdentity(text, reason: "'\(part)' is not a DNS label (lower-case letters, digits and '-')")
        }
        self.init(
            serviceAccount: String(parts[0]),
            namespace: String(parts[1]),
            trustDomain: parts[2...].joined(separator: ".")
        )
    }

    /// `sa.ns.cluster.local`: the DNS SAN of the workload certificate and the name the engine uses.
    public var dnsName: String { "\(serviceAccount).\(namespace).\(trustDomain)" }

    /// `spiffe://cluster.local/ns/<ns>/sa/<sa>`.
    public var spiffeID: String { "spiffe://\(trustDomain)/ns/\(namespace)/sa/\(serviceAccount)" }

    public var description: String { dnsName }

    private static func isLabelCharacter(_ c: Character) -> Bool {
        c == "-" || ("a"..."z").contains(c) || ("0"..."9").contains(c)
    }
}
