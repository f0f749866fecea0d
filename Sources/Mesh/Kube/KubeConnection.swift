import Foundation

/// Everything needed to talk to one API server: where it is, how to trust it, who we are.
/// Built from a kubeconfig (`KubeConnection.kubeconfig(...)`) or from the pod's service account
/// (`KubeConnection.inCluster(...)`).
public struct KubeConnection: Sendable, Equatable {
    /// `https://10.96.0.1:443` (no trailing slash); `http://` only for tests against a local double.
    public var server: String
    public var trust: Trust
    public var credentials: KubeCredentials
    /// The namespace a kubeconfig context or the service account names (informational).
    public var namespace: String?
    /// Where this connection came from, for messages (`kubeconfig /root/.kube/config context kind-mesh`).
    public var origin: String

    public init(server: String, trust: Trust = .systemRoots, credentials: KubeCredentials = .none, namespace: String? = nil, origin: String = "") {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.trust = trust
        self.credentials = credentials
        self.namespace = namespace
        self.origin = origin
    }

    /// How the server's certificate is checked.
    public enum Trust: Sendable, Equatable {
        /// The system's roots.
        case systemRoots
        /// Only this CA bundle (PEM).
        case certificateAuthority(pem: [UInt8])
        /// No check at all (`insecure-skip-tls-verify: true`): logged as a warning at start.
        case insecureSkipVerify
    }
}

/// Who the client is to the API server.
public enum KubeCredentials: Sendable, Equatable {
    case none
    /// A fixed bearer token.
    case bearerToken(String)
    /// A bearer token read from a file and re-read when the file changes (a projected
    /// service-account token rotates about hourly).
    case bearerTokenFile(String)
    /// A client certificate and its key (PEM).
    case clientCertificate(certificatePEM: [UInt8], keyPEM: [UInt8])
}

extension KubeConnection {
    /// The service account mount kubelet gives every pod.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The connection of a pod's service account: `KUBERNETES_SERVICE_HOST`/`_PORT`, the token file
    /// (re-read as it rotates) and the cluster CA of the mount. A missing variable or file is a
    /// one-line error naming it.
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 directory: String = serviceAccountDirectory) throws(KubeError) -> KubeConnection {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
              let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty else {
            throw KubeError(.configuration, request: "in-cluster configuration",
                            message: "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not running in a pod; give --kubeconfig FILE")
        }
        let tokenPath = (directory as NSString).appendingPathComponent("token")
        let caPath = (directory as NSString).appendingPathComponent("ca.crt")
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubeError(.configuration, request: tokenPath, message: "cannot read the service account token (is automountServiceAccountToken off?)")
        }
        guard let ca = FileManager.default.contents(atPath: caPath), !ca.isEmpty else {
            throw KubeError(.configuration, request: caPath, message: "cannot read the cluster CA certificate")
        }
        let namespacePath = (directory as NSString).appendingPathComponent("namespace")
        let namespace = FileManager.default.contents(atPath: namespacePath)
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubeConnection(server: "https://\(hostPart):\(port)", trust: .certificateAuthority(pem: Array(ca)),
                              credentials: .bearerTokenFile(tokenPath), namespace: namespace, origin: "in-cluster service account")
    }
}
