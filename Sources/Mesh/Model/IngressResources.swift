/// Ingress into the mesh (guides 3.7.1-3.7.3, inventory F2-001..F2-005): Kubernetes `Ingress`
/// (`networking.k8s.io/v1`, FSM's class `pipy`), FSM's `IngressBackend`
/// (`policy.flomesh.io/v1alpha1`), and the `Secret`s that TLS listeners and policies name.

public enum IngressPathType: String, Hashable, Sendable, CaseIterable, Codable {
    case prefix = "Prefix"
    case exact = "Exact"
    case implementationSpecific = "ImplementationSpecific"
}

/// A Service port by number or by name (`backend.service.port`).
public struct IngressServiceBackend: Hashable, Sendable {
    public var name: String
    public var port: IntOrString
    public init(name: String, port: IntOrString) {
        self.name = name
        self.port = port
    }
}

public struct IngressPath: Hashable, Sendable {
    /// `/` when absent (ImplementationSpecific); FSM reads it as a prefix.
    public var path: String
    public var pathType: IngressPathType
    public var backend: IngressServiceBackend
    public init(path: String = "/", pathType: IngressPathType, backend: IngressServiceBackend) {
        self.path = path
        self.pathType = pathType
        self.backend = backend
    }
}

public struct IngressRule: Hashable, Sendable {
    /// nil: every host.
    public var host: String?
    public var paths: [IngressPath]
    public init(host: String? = nil, paths: [IngressPath] = []) {
        self.host = host
        self.paths = paths
    }
}

public struct IngressTLS: Hashable, Sendable {
    public var hosts: [String]
    public var secretName: String?
    public init(hosts: [String] = [], secretName: String? = nil) {
        self.hosts = hosts
        self.secretName = secretName
    }
}

public struct Ingress: Hashable, Sendable {
    /// The class FSM's ingress controller serves (`ingressClassName: pipy`).
    public static let fsmClassName = "pipy"
    /// The annotations the guides show (`pipy.ingress.kubernetes.io/...`, demos.md 6.4).
    public static let annotationPrefix = "pipy.ingress.kubernetes.io/"
    public static let knownAnnotations = ["rewrite-target-from", "rewrite-target-to", "lb-type", "session-sticky"]
    /// The values `lb-type` takes.
    public static let loadBalancerTypes = ["round-robin", "hashing", "least-work"]

    public var metadata: ObjectMeta
    public var ingressClassName: String?
    public var defaultBackend: IngressServiceBackend?
    public var rules: [IngressRule]
    public var tls: [IngressTLS]

    public init(metadata: ObjectMeta, ingressClassName: String? = nil, defaultBackend: IngressServiceBackend? = nil, rules: [IngressRule] = [], tls: [IngressTLS] = []) {
        self.metadata = metadata
        self.ingressClassName = ingressClassName
        self.defaultBackend = defaultBackend
        self.rules = rules
        self.tls = tls
    }
}

public enum IngressBackendProtocol: String, Hashable, Sendable, CaseIterable, Codable {
    case http
    case https
}

public struct IngressBackendTarget: Hashable, Sendable {
    /// A Service of the IngressBackend's namespace.
    public var name: String
    /// The Service's `targetPort` (F2-001).
    public var port: Int
    public var `protocol`: IngressBackendProtocol
    public var skipClientCertValidation: Bool
    public init(name: String, port: Int, protocol: IngressBackendProtocol = .http, skipClientCertValidation: Bool = false) {
        self.name = name
        self.port = port
        self.protocol = `protocol`
        self.skipClientCertValidation = skipClientCertValidation
    }
}

/// Who may reach the backends from outside the mesh.
public enum IngressBackendSource: Hashable, Sendable, Codable {
    /// The endpoints of a Service (a monitored namespace's).
    case service(namespace: String, name: String)
    /// A CIDR.
    case ipRange(String)
    /// A client certificate's SAN (`https` backends).
    case authenticatedPrincipal(String)
}

public struct IngressBackend: Hashable, Sendable {
    public var metadata: ObjectMeta
    public var backends: [IngressBackendTarget]
    public var sources: [IngressBackendSource]
    public init(metadata: ObjectMeta, backends: [IngressBackendTarget] = [], sources: [IngressBackendSource] = []) {
        self.metadata = metadata
        self.backends = backends
        self.sources = sources
    }
}

/// A core/v1 Secret: its type and its keys' values (`data` decoded from base64, `stringData` as
/// written). Only the controller reads it; a value goes only into the config of the party it is
/// for (a gateway's own certificate, its upstream CA).
public struct Secret: Hashable, Sendable {
    public static let tlsType = "kubernetes.io/tls"
    public static let certificateKey = "tls.crt"
    public static let privateKeyKey = "tls.key"
    public static let caKey = "ca.crt"

    public var metadata: ObjectMeta
    /// `Opaque` when absent.
    public var type: String
    public var data: [String: [UInt8]]
    public init(metadata: ObjectMeta, type: String = "Opaque", data: [String: [UInt8]] = [:]) {
        self.metadata = metadata
        self.type = type
        self.data = data
    }

    public func text(_ key: String) -> String? {
        data[key].map { String(decoding: $0, as: UTF8.self) }
    }
}
