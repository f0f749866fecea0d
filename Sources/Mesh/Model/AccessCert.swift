/// `policy.flomesh.io/v1alpha1` AccessCert (demos.md 6.7, the mTLS variant of access control for
/// clients outside the mesh): with MeshConfig `featureFlags.enableAccessCertPolicy`, the controller
/// issues a certificate from the mesh CA naming `subjectAltNames` and keeps it, renewed, in the
/// Secret `secret` (`ca.crt`, `tls.crt`, `tls.key`, type `kubernetes.io/tls`, as FSM writes it).
/// A client holding it is admitted by an AccessControl `AuthenticatedPrincipal` source naming the SAN.
public struct AccessCert: Hashable, Sendable {
    public var metadata: ObjectMeta
    /// DNS names; the first is the certificate's subject common name (FSM's: one CN per cert).
    public var subjectAltNames: [String]
    /// Where the certificate goes; its namespace defaults to the AccessCert's.
    public var secret: SecretReference

    public init(metadata: ObjectMeta, subjectAltNames: [String], secret: SecretReference) {
        self.metadata = metadata
        self.subjectAltNames = subjectAltNames
        self.secret = secret
    }
}

/// A Secret by namespace and name (`corev1.SecretReference`).
public struct SecretReference: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    public var description: String { "\(namespace)/\(name)" }

    public static func < (a: SecretReference, b: SecretReference) -> Bool { (a.namespace, a.name) < (b.namespace, b.name) }
}

/// `status` of an AccessCert, in FSM's words: `currentStatus` `committed` or `error`, and why.
public struct AccessCertStatus: Hashable, Sendable {
    public enum Current: String, Hashable, Sendable {
        case committed
        case error
    }

    public var currentStatus: Current
    public var reason: String

    public init(_ currentStatus: Current, reason: String) {
        self.currentStatus = currentStatus
        self.reason = reason
    }

    /// FSM's reason for an issued certificate.
    public static let committed = AccessCertStatus(.committed, reason: "successfully committed by the system")
    /// FSM's reason while `enableAccessCertPolicy` is off.
    public static let prohibited = AccessCertStatus(.error, reason: "FSM is prohibited to issue certificates for external services.")

    /// `{"currentStatus": ..., "reason": ...}`.
    public var jsonValue: JSONValue {
        .object([("currentStatus", .string(currentStatus.rawValue)), ("reason", .string(reason))])
    }
}
