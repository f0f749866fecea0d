/// The pods FSM Gateway and the ingress controller run as, named as the guides show them: a
/// Gateway in namespace N runs as `fsm-gateway-N` (its LoadBalancer Service too), the ingress
/// controller's config (`<control plane>/fsm-ingress`, DECISIONS 190) as `fsm-ingress`. The
/// simulator and `sim --real` place them by these names.
public enum GatewayPods {
    public static let ingressPodName = "fsm-ingress"

    /// The pod serving the gateway config `namespace/name`.
    public static func podName(ofGateway gateway: String) -> String {
        let namespace = String(gateway.prefix { $0 != "/" })
        return gateway == "\(namespace)/\(ingressPodName)" ? ingressPodName : "fsm-gateway-\(namespace)"
    }
}
