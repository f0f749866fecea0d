/// The egress gateway's own config (guides 3.8.2; the guide's Deployment `fsm/fsm-egress-gateway`):
/// the sidecar engine in a gateway role. It reaches no mesh service and admits no inbound
/// traffic; everything asked of it leaves for its destination, passthrough being the gateway's
/// whole job: a `CONNECT ip:port` tunnel (TCP and TLS egress) or an absolute-form HTTP request
/// (HTTP egress, the app's Host kept). Meshed pods' Egress rules and `enableEgress` already
/// decided what may reach it (DECISIONS 196).
extension ProxyConfig {
    public static let egressGatewayNamespace = "fsm"
    public static let egressGatewayName = "fsm-egress-gateway"
    /// FSM's egress gateway port (its chart's `fsm.egressGateway.port`).
    public static let egressGatewayPort = 1080

    /// What a tunnel may never name: the gateway's own host. Its listen address (the tunnel and
    /// metrics ports) and loopback (its admin port, 127.0.0.1), link-local (a cloud node's metadata
    /// service) and "this network". All of loopback when it listens on a pod address, as in a
    /// cluster; only 127.0.0.1 beside its own address when it listens on loopback itself (local
    /// mode, where the destinations outside are loopback servers too).
    public static func egressGatewayRefusedRanges(listenAddress: String?) -> [String] {
        let own = listenAddress.map { ["\($0)/32"] } ?? []
        let loopback = listenAddress?.hasPrefix("127.") == true ? ["127.0.0.1/32"] : ["127.0.0.0/8"]
        return loopback + ["169.254.0.0/16", "0.0.0.0/8"] + own
    }

    public static func egressGateway(namespace: String = egressGatewayNamespace, name: String = egressGatewayName, listenAddress: String? = nil) -> ProxyConfig {
        var spec = ProxySpec(enableEgress: true)
        spec.egressRefusedRanges = egressGatewayRefusedRanges(listenAddress: listenAddress)
        return ProxyConfig(version: "egress-gateway", serviceIdentity: "\(name).\(namespace).cluster.local", spec: spec)
    }
}
