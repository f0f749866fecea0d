/// `policy.flomesh.io/v1alpha1` Egress (guides 3.8.1, demos.md 6.3): which external destinations
/// the pods running as `sources` may reach, with `enableEgressPolicy`. HTTP ports match by Host
/// (and the `matches` HTTPRouteGroups' paths and methods), HTTPS ports by the TLS server name, TCP
/// ports by destination address range; a destination no Egress allows is refused unless
/// `traffic.enableEgress` lets it pass through.
public struct Egress: Hashable, Sendable {
    public var metadata: ObjectMeta
    /// ServiceAccounts (`kind: ServiceAccount`, the only kind FSM's API has).
    public var sources: [IdentityReference]
    /// DNS names: the Host of HTTP requests, the server name of TLS.
    public var hosts: [String]
    /// CIDRs as written; an invalid one is ignored by the controller (E2002).
    public var ipAddresses: [String]
    public var ports: [EgressPort]
    public var matches: [EgressMatch]

    public init(metadata: ObjectMeta, sources: [IdentityReference] = [], hosts: [String] = [], ipAddresses: [String] = [], ports: [EgressPort] = [],
                matches: [EgressMatch] = []) {
        self.metadata = metadata
        self.sources = sources
        self.hosts = hosts
        self.ipAddresses = ipAddresses
        self.ports = ports
        self.matches = matches
    }
}

public enum EgressProtocol: String, Hashable, Sendable, CaseIterable {
    case http
    case https
    case tcp
    case tcpServerFirst = "tcp-server-first"

    /// Whether the sidecar reads HTTP on such a port.
    public var isHTTP: Bool { self == .http }
}

public struct EgressPort: Hashable, Sendable {
    public var number: Int
    public var `protocol`: EgressProtocol

    public init(number: Int, protocol: EgressProtocol) {
        self.number = number
        self.protocol = `protocol`
    }
}

/// A match named by an Egress: an SMI HTTPRouteGroup (its matches narrow HTTP egress by path,
/// method and headers) or an UpstreamTrafficSetting (its connection settings apply to the
/// destination), each in the Egress's namespace.
public struct EgressMatch: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case httpRouteGroup = "HTTPRouteGroup"
        case upstreamTrafficSetting = "UpstreamTrafficSetting"
    }

    public var apiGroup: String
    public var kind: Kind
    public var name: String

    public init(apiGroup: String, kind: Kind, name: String) {
        self.apiGroup = apiGroup
        self.kind = kind
        self.name = name
    }
}
