import MeshModel

/// What `fsm install` applies, as the documents `--dry-run` prints and `deploy/fsm.yaml` holds:
/// the control plane's namespace, the CRDs of every custom kind the decoder reads, least-privilege
/// RBAC, the MeshConfig, the Services, the controller and injector Deployments, and the webhook
/// configurations (their `caBundle` is left for the injector to fill in at start). Pure: the same
/// options give the same bytes.
public struct ControlPlaneManifests: Sendable {
    public var meshName: String
    public var namespace: String
    public var values: InstallValues

    public init(meshName: String = MeshName.defaultName, namespace: String = MeshName.defaultNamespace, values: InstallValues = InstallValues()) {
        self.meshName = meshName
        self.namespace = namespace
        self.values = values
    }

    /// Every document in apply order: what others refer to comes first.
    public func documents() -> [JSONValue] {
        [namespaceDocument()] + customResourceDefinitions() + serviceAccounts() + rbac() + [meshConfig()]
            + services() + deployments() + interceptor() + webhookConfigurations() + edgeClasses()
    }

    /// The YAML stream `kubectl apply -f` takes.
    public func yaml() -> String {
        "# fsm install --mesh-name \(meshName) --fsm-namespace \(namespace) (fsm \(MeshVersion.current))\n" + JSONValue.yamlStream(documents())
    }

    /// The image every component runs (one image: controller, injector, init and sidecar).
    public var image: String {
        let registry = values.string("fsm.image.registry")
        let name = values.string("fsm.image.name")
        return (registry.isEmpty ? "" : registry + "/") + name + ":" + values.string("fsm.image.tag")
    }

    // MARK: Labels

    /// The labels of every resource (F1-014: `app.kubernetes.io/name=flomesh.io` selects them).
    func labels(app: String? = nil, perMesh: Bool = true) -> JSONValue {
        var pairs: [(String, JSONValue)] = []
        if let app { pairs.append(("app", .string(app))) }
        pairs.append(("app.kubernetes.io/name", .string("flomesh.io")))
        if perMesh { pairs.append(("app.kubernetes.io/instance", .string(meshName))) }
        pairs.append(("app.kubernetes.io/version", .string(MeshVersion.current)))
        return .object(pairs)
    }

    func metadata(_ name: String, namespaced: Bool = true, app: String? = nil, perMesh: Bool = true, extraLabels: [(String, JSONValue)] = []) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("name", .string(name))]
        if namespaced { pairs.append(("namespace", .string(namespace))) }
        guard case .object(let base) = labels(app: app, perMesh: perMesh) else { return .object(pairs) }
        pairs.append(("labels", .object(base + extraLabels)))
        return .object(pairs)
    }

    static func document(_ apiVersion: String, _ kind: String, _ metadata: JSONValue, _ rest: [(String, JSONValue)]) -> JSONValue {
        .object([("apiVersion", .string(apiVersion)), ("kind", .string(kind)), ("metadata", metadata)] + rest)
    }

    // MARK: Namespace and MeshConfig

    /// The control plane's namespace: `name: <namespace>` and `flomesh.io/ignore` keep injection out (F1-047).
    func namespaceDocument() -> JSONValue {
        Self.document("v1", "Namespace", metadata(namespace, namespaced: false, extraLabels: [
            ("name", .string(namespace)), ("flomesh.io/ignore", .string("true")),
        ]), [])
    }

    /// `fsm-mesh-config` with the guides' defaults and the `--set` overrides (F1-030, F1-032).
    func meshConfig() -> JSONValue {
        let traffic: [(String, JSONValue)] = [
            ("enableEgress", values["fsm.enableEgress"]),
            ("enablePermissiveTrafficPolicyMode", values["fsm.enablePermissiveTrafficPolicy"]),
            ("interceptionMode", values["fsm.trafficInterceptionMode"]),
            ("outboundIPRangeExclusionList", values["fsm.outboundIPRangeExclusionList"]),
            ("outboundIPRangeInclusionList", values["fsm.outboundIPRangeInclusionList"]),
            ("outboundPortExclusionList", values["fsm.outboundPortExclusionList"]),
            ("inboundPortExclusionList", values["fsm.inboundPortExclusionList"]),
        ]
        let tracingAddress = values.string("fsm.tracing.address")
        let tracing: [(String, JSONValue)] = [
            ("enable", values["fsm.tracing.enable"]),
            ("address", .string(tracingAddress.isEmpty ? "jaeger.\(namespace).svc.cluster.local" : tracingAddress)),
            ("port", values["fsm.tracing.port"]), ("endpoint", values["fsm.tracing.endpoint"]),
        ]
        let spec: [(String, JSONValue)] = [
            ("sidecar", .object([
                ("enablePrivilegedInitContainer", values["fsm.enablePrivilegedInitContainer"]), ("logLevel", values["fsm.sidecarLogLevel"]),
                ("maxDataPlaneConnections", values["fsm.maxDataPlaneConnections"]), ("configResyncInterval", values["fsm.configResyncInterval"]),
                ("sidecarImage", .string(image)),
            ])),
            ("traffic", .object(traffic)),
            ("observability", .object([
                ("fsmLogLevel", values["fsm.controllerLogLevel"]), ("enableDebugServer", values["fsm.enableDebugServer"]), ("tracing", .object(tracing)),
            ])),
            ("certificate", .object([("serviceCertValidityDuration", values["fsm.certificateProvider.serviceCertValidityDuration"])])),
            ("featureFlags", .object([
                ("enableEgressPolicy", values["fsm.featureFlags.enableEgressPolicy"]),
                ("enableAccessControlPolicy", values["fsm.featureFlags.enableAccessControlPolicy"]),
                ("enableRetryPolicy", values["fsm.featureFlags.enableRetryPolicy"]),
                ("enablePluginPolicy", values["fsm.featureFlags.enablePluginPolicy"]),
                ("enableAccessCertPolicy", values["fsm.featureFlags.enableAccessCertPolicy"]),
            ])),
        ]
        return Self.document(CustomResourceKind.meshConfig.apiVersion, "MeshConfig", metadata("fsm-mesh-config"), [("spec", .object(spec))])
    }
}
