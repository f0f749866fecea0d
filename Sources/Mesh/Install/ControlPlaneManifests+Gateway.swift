import MeshModel

/// What `fsm.fsmGateway.enabled` and `fsm.fsmIngress.enabled` add (F2-003, F2-010): the Gateway
/// API's and FSM Gateway's CRDs (rendered from the decoder's schema table with the mesh's,
/// `customResourceDefinitions`), the GatewayClass `fsm-gateway-cls` of FSM's controller, the
/// IngressClass `pipy`, and the controller's `--gateway`/`--ingress` flags with the image of the
/// pods it then deploys (each Gateway namespace's `fsm-gateway-<namespace>`, and `fsm-ingress`)
/// and the access that takes (`ControlPlaneComponent.access`).
extension ControlPlaneManifests {
    public static let gatewayClassName = GatewayAPI.defaultClassName
    /// FSM's ingress controller name for the IngressClass `pipy`.
    public static let ingressControllerName = "flomesh.io/ingress-pipy"

    /// The edge as `ControlPlaneComponent.access` takes it.
    var edge: ControlPlaneComponent.Edge {
        ControlPlaneComponent.Edge(gateway: values.bool("fsm.fsmGateway.enabled"), ingress: values.bool("fsm.fsmIngress.enabled"))
    }

    /// The controller's flags for the edge the values enable.
    func edgeArguments() -> [String] {
        let edge = edge
        guard edge.gateway || edge.ingress else { return [] }
        return (edge.gateway ? ["--gateway"] : []) + (edge.ingress ? ["--ingress"] : [])
            + ["--gateway-image", image, "--gateway-image-pull-policy", values.string("fsm.image.pullPolicy")]
    }

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
