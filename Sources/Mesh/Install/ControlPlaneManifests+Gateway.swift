import MeshModel

/// What `fsm.fsmGateway.enabled` and `fsm.fsmIngress.enabled` add (F2-003, F2-010): the Gateway
/// API's and FSM Gateway's CRDs (rendered from the decoder's schema table with the mesh's,
/// `customResourceDefinitions`), the GatewayClass `fsm-gateway-cls` of FSM's controller, and the
/// IngressClass `pipy`. Both values are still `notBuilt` (`InstallValues.notBuiltKeys`): the
/// controller does not yet provision a Gateway's `fsm-gateway-<namespace>` Deployment and Service,
/// nor the `fsm-ingress` one, in a cluster.
extension ControlPlaneManifests {
    public static let gatewayClassName = GatewayAPI.defaultClassName
    /// FSM's ingress controller name for the IngressClass `pipy`.
    public static let ingressControllerName = "flomesh.io/ingress-pipy"

    /// After the CRDs they need: the GatewayClass and the IngressClass, as the values ask.
    func edgeClasses() -> [JSONValue] {
        var documents: [JSONValue] = []
        if values.bool("fsm.fsmGateway.enabled") {
            documents.append(Self.document(GatewayAPI.group + "/v1", "GatewayClass", metadata(Self.gatewayClassName, namespaced: false, app: "fsm-gateway"), [
                ("spec", .object([("controllerName", .string(GatewayAPI.controllerName))])),
            ]))
        }
        if values.bool("fsm.fsmIngress.enabled") {
            documents.append(Self.document("networking.k8s.io/v1", "IngressClass", metadata(Ingress.fsmClassName, namespaced: false, app: "fsm-ingress"), [
                ("spec", .object([("controller", .string(Self.ingressControllerName))])),
            ]))
        }
        return documents
    }
}
