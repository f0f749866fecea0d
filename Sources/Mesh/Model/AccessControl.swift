/// `policy.flomesh.io/v1alpha1` AccessControl (guides 7.2, demos.md 6.7): lets clients outside
/// the mesh reach the backends of its namespace. A meshed pod's inbound refuses traffic without a
/// mesh identity unless an AccessControl (with `enableAccessControlPolicy`) names the backend and
/// the client's source.
public struct AccessControl: Hashable, Sendable {
    public var metadata: ObjectMeta
    /// Services of the AccessControl's namespace, by name and target port; empty: every service of it.
    public var backends: [AccessControlBackend]
    public var sources: [AccessControlSource]

    public init(metadata: ObjectMeta, backends: [AccessControlBackend] = [], sources: [AccessControlSource] = []) {
        self.metadata = metadata
        self.backends = backends
        self.sources = sources
    }
}

public struct AccessControlBackend: Hashable, Sendable {
    /// A Service of the AccessControl's namespace.
    public var name: String
    /// The Service's target port (the port the pod serves).
    public var port: Int
    /// `http`, `grpc`, `tcp`, ...: what the port speaks.
    public var portProtocol: String
    /// `tls.skipClientCertValidation`: any client certificate of the mesh's CA is admitted.
    public var skipClientCertValidation: Bool

    public init(name: String, port: Int, portProtocol: String = "http", skipClientCertValidation: Bool = false) {
        self.name = name
        self.port = port
        self.portProtocol = portProtocol
        self.skipClientCertValidation = skipClientCertValidation
    }
}

public struct AccessControlSource: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// The Service's endpoints' pod addresses.
        case service = "Service"
        /// A CIDR (`name: 10.244.0.10/32`).
        case ipRange = "IPRange"
        /// A client certificate's identity (`name: curl.curl.cluster.local`, an AccessCert's SAN).
        case authenticatedPrincipal = "AuthenticatedPrincipal"
    }

    public var kind: Kind
    public var name: String
    /// For `Service`: its namespace (default: the AccessControl's).
    public var namespace: String

    public init(kind: Kind, name: String, namespace: String = "") {
        self.kind = kind
        self.name = name
        self.namespace = namespace
    }
}
