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

    public static func egressGateway(namespace: String = egressGatewayNamespace, name: String = egressGatewayName) -> ProxyConfig {
        ProxyConfig(version: "egress-gateway", serviceIdentity: "\(name).\(namespace).cluster.local", spec: ProxySpec(enableEgress: true))
    }
}
