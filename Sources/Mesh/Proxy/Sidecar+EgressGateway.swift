import MeshModel

/// The egress gateway at the sidecar (guides 3.8.2, `Spec.EgressGateway`): egress the sidecar
/// lets out (passthrough, or an Egress policy's allow) goes to the gateway instead of its
/// destination. The destination's `egress|ip:port` cluster keeps its name (so limits, counters and
/// pooling stay per destination) but its one endpoint is a gateway endpoint, picked by a stable
/// hash of the destination, and it remembers the destination as its tunnel target: the shells
/// open a CONNECT tunnel naming it for a TCP connection and send an HTTP request in absolute form
/// (`http://ip:port/path`, the app's Host kept), as FSM's sidecar forwards to its gateway
/// (DECISIONS 195). `enableEgress: false` and the Egress rules still decide first what may leave:
/// refused traffic never reaches the gateway. A gateway with no endpoint fails egress closed (no
/// healthy upstream) rather than letting it leave directly; a gateway that refuses the connection
/// is a failed connect (UF).
extension Sidecar {
    static let egressGatewayCounter = "outbound.egress_gateway"

    /// The destination a cluster's traffic is tunnelled to through the egress gateway; nil for a
    /// cluster that dials its endpoint itself (every other cluster, and egress without a gateway).
    public func egressGatewayTarget(ofCluster name: String) -> SocketAddress? {
        guard Sidecar.isEgressCluster(name), let index = compiled.egressClusterIndexByName[name] else { return nil }
        return compiled.clusters[index].tunnelTarget
    }

    /// The applied config's egress gateway (`namespace/service`); nil without one.
    public var egressGatewayService: String? { compiled.egressGateway?.service }

    /// Counts traffic an egress cluster sends through the gateway.
    mutating func countEgressGateway(_ cluster: Int) {
        guard compiled.clusters[cluster].tunnelTarget != nil else { return }
        counters[counters.index(Sidecar.egressGatewayCounter)] += 1
    }
}

/// `Spec.EgressGateway` compiled: the gateway's endpoints, checked.
struct CompiledEgressGateway: Sendable {
    var service: String
    var endpoints: [SocketAddress]

    init?(compiling spec: EgressGatewaySpec?) throws(ConfigRejection) {
        guard let spec else { return nil }
        service = spec.service
        endpoints = []
        for text in spec.endpoints {
            guard let address = SocketAddress(parsing: text), address.port > 0 else {
                throw ConfigRejection(description: "egress gateway \(spec.service): bad endpoint address \"\(text)\"")
            }
            endpoints.append(address)
        }
    }

    /// The gateway endpoint for `destination`: the same one for the same destination while the
    /// endpoints stay, spread over them otherwise; none when the gateway has no endpoint.
    func endpoint(for destination: SocketAddress) -> SocketAddress? {
        guard !endpoints.isEmpty else { return nil }
        return endpoints[Int(StableHash.fnv1a(destination.description) % UInt64(endpoints.count))]
    }
}
