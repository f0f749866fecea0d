import MeshModel

/// A host outside the cluster (`external:` in a scenario): a name DNS gives its `ip`, the ports it
/// serves and what it answers there. Requests that reach it are counted like a Deployment's, by
/// its key (`app: <name>` in `received:` expectations).
public struct ExternalHost: Hashable, Sendable {
    /// The scenario's key for it, what reports and expectations call it.
    public var name: String
    /// The DNS name clients use (`httpbin.org`).
    public var host: String
    /// Its address, outside the cluster's pod and service ranges.
    public var ip: String
    public var ports: [Int]
    public var app: AppSpec

    public init(name: String, host: String, ip: String, ports: [Int], app: AppSpec) {
        self.name = name
        self.host = host
        self.ip = ip
        self.ports = ports
        self.app = app
    }
}

extension LoadSpec {
    /// `from: external`: a client outside the cluster and the mesh (no sidecar, no namespace).
    public static let external = "external"
    /// The address the `external` client connects from (TEST-NET-2, outside every cluster range).
    public static let externalClientIP = "198.51.100.1"

    public var isExternal: Bool { from == LoadSpec.external }
}

/// One header of a `headers:` expectation: its exact value, or nil for "absent".
public struct HeaderExpectation: Hashable, Sendable {
    public var name: String
    public var value: String?

    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }
}
