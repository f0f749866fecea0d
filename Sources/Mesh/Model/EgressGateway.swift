/// `policy.flomesh.io/v1alpha1` EgressGateway (guides 3.8.2): the Services of the egress
/// gateway that meshed pods send their egress to instead of the destination. `global` is the
/// mesh-wide gateway (the guide's `fsm/fsm-egress-gateway`); FSM picks the gateway's transport
/// (`http2tunnel`, its default, or `socks5`) when it deploys the gateway, and tells sidecars per
/// gateway (`Mode`), so each entry may name it here (DECISIONS 193).
public struct EgressGateway: Hashable, Sendable {
    public var metadata: ObjectMeta
    public var global: [EgressGatewayBackend]

    public init(metadata: ObjectMeta, global: [EgressGatewayBackend] = []) {
        self.metadata = metadata
        self.global = global
    }
}

/// One gateway Service of an EgressGateway.
public struct EgressGatewayBackend: Hashable, Sendable {
    public var service: String
    public var namespace: String
    public var mode: EgressGatewayMode

    public init(service: String, namespace: String, mode: EgressGatewayMode = .http2tunnel) {
        self.service = service
        self.namespace = namespace
        self.mode = mode
    }
}

/// How a sidecar's egress reaches the gateway. Only the tunnel is built: `socks5` is refused by
/// the decoder with a clear error (DECISIONS 193).
public enum EgressGatewayMode: String, Hashable, Sendable, CaseIterable {
    case http2tunnel
}

/// The egress gateway in a sidecar's config (`Spec.EgressGateway`): the gateway's endpoints
/// (its Service's ready addresses at the Service's port) and the transport. Egress that the
/// sidecar lets out (passthrough or an Egress policy) goes to one of them instead of its
/// destination: TCP and TLS through a CONNECT tunnel naming `ip:port`, HTTP as an absolute-form
/// request with the app's Host kept.
public struct EgressGatewaySpec: Hashable, Sendable {
    /// `namespace/service` of the gateway, for logs and the config dump.
    public var service: String
    /// `ip:port`, in the order of the Service's endpoints.
    public var endpoints: [String]
    public var mode: EgressGatewayMode

    public init(service: String, endpoints: [String], mode: EgressGatewayMode = .http2tunnel) {
        self.service = service
        self.endpoints = endpoints
        self.mode = mode
    }
}

extension EgressGatewaySpec {
    public var jsonValue: JSONValue {
        .object([("Service", .string(service)), ("Mode", .string(mode.rawValue)), ("Endpoints", .array(endpoints.map { .string($0) }))])
    }

    init(_ reader: JSONReader) throws(ProxyConfigDecodingError) {
        let name = try reader.optionalString("Mode") ?? EgressGatewayMode.http2tunnel.rawValue
        guard let mode = EgressGatewayMode(rawValue: name) else {
            throw reader.error("Mode", "expected \(EgressGatewayMode.allCases.map(\.rawValue).joined(separator: " or ")), found \(name)")
        }
        self.init(service: try reader.optionalString("Service") ?? "", endpoints: try reader.optionalStrings("Endpoints") ?? [], mode: mode)
    }
}
