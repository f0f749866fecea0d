import MeshModel

/// The controller and injector Deployments (restricted securityContext, probes, resources) and
/// their Services.
extension ControlPlaneManifests {
    /// The controller's config API (sidecars poll it) and its operations port (metrics, health).
    public static let controllerAPIPort = 6060
    public static let controllerOperationsPort = 9091
    /// The injector's webhook listener; its Service answers on 443.
    public static let injectorWebhookPort = 9090
    /// The uid and gid the control plane runs as (the image's non-root user).
    public static let controlPlaneUID = 65532
    /// The injector's webhook paths.
    public static let mutatePodPath = "/mutate-pod-creation"
    public static let validatePath = "/validate"

    func services() -> [JSONValue] {
        [
            Self.document("v1", "Service", metadata("fsm-controller", app: "fsm-controller"), [("spec", .object([
                ("selector", .object([("app", .string("fsm-controller"))])),
                ("ports", .array([
                    Self.servicePort("config", Self.controllerAPIPort, Self.controllerAPIPort),
                    Self.servicePort("metrics", Self.controllerOperationsPort, Self.controllerOperationsPort),
                ])),
            ]))]),
            Self.document("v1", "Service", metadata("fsm-injector", app: "fsm-injector"), [("spec", .object([
                ("selector", .object([("app", .string("fsm-injector"))])),
                ("ports", .array([Self.servicePort("webhook", 443, Self.injectorWebhookPort)])),
            ]))]),
        ]
    }

    static func servicePort(_ name: String, _ port: Int, _ target: Int) -> JSONValue {
        .object([("name", .string(name)), ("port", .int(port)), ("targetPort", .int(target)), ("protocol", .string("TCP"))])
    }

    func deployments() -> [JSONValue] {
        let common = ["--mesh-name", meshName, "--fsm-namespace", namespace, "--log-level", Self.swiftLogLevel(values.string("fsm.controllerLogLevel"))]
        let controller = container(
            name: "fsm-controller", arguments: ["controller", "--kubernetes"] + common + edgeArguments(),
            ports: [("config", Self.controllerAPIPort), ("metrics", Self.controllerOperationsPort)],
            probes: [
                ("livenessProbe", Self.httpProbe("/health/alive", Self.controllerOperationsPort)),
                ("readinessProbe", Self.httpProbe("/health/ready", Self.controllerOperationsPort)),
            ], resourceKey: "fsm.fsmController")
        let injector = container(
            name: "fsm-injector",
            arguments: ["injector", "--kubernetes"] + common + ["--listen", "0.0.0.0:\(Self.injectorWebhookPort)", "--image", image],
            ports: [("webhook", Self.injectorWebhookPort)],
            probes: [
                ("livenessProbe", Self.tcpProbe(Self.injectorWebhookPort)), ("readinessProbe", Self.tcpProbe(Self.injectorWebhookPort)),
            ], resourceKey: "fsm.fsmInjector")
        return [
            deployment("fsm-controller", replicas: values["fsm.fsmController.replicaCount"], container: controller),
            deployment("fsm-injector", replicas: values["fsm.fsmInjector.replicaCount"], container: injector),
        ]
    }

    func deployment(_ name: String, replicas: JSONValue, container: JSONValue) -> JSONValue {
        let podSpec = JSONValue.object([
            ("serviceAccountName", .string(name)),
            ("securityContext", .object([
                ("runAsNonRoot", .bool(true)), ("runAsUser", .int(Self.controlPlaneUID)), ("runAsGroup", .int(Self.controlPlaneUID)),
                ("fsGroup", .int(Self.controlPlaneUID)), ("seccompProfile", .object([("type", .string("RuntimeDefault"))])),
            ])),
            ("containers", .array([container])),
            // A read-only root: the process's own files go to this scratch volume (its working directory).
            ("volumes", .array([.object([("name", .string("scratch")), ("emptyDir", .object([("sizeLimit", .string("64Mi"))]))])])),
        ])
        return Self.document("apps/v1", "Deployment", metadata(name, app: name, extraLabels: [("meshName", .string(meshName))]), [
            ("spec", .object([
                ("replicas", replicas),
                ("selector", .object([("matchLabels", .object([("app", .string(name))]))])),
                ("template", .object([("metadata", .object([("labels", podLabels(name))])), ("spec", podSpec)])),
            ])),
        ])
    }

    func container(name: String, arguments: [String], ports: [(String, Int)], probes: [(String, JSONValue)], resourceKey: String) -> JSONValue {
        func quantities(_ kind: String) -> JSONValue {
            .object([("cpu", values["\(resourceKey).resource.\(kind).cpu"]), ("memory", values["\(resourceKey).resource.\(kind).memory"])])
        }
        let environment: [JSONValue] = [("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace")].map { variable, path in
            .object([("name", .string(variable)), ("valueFrom", .object([("fieldRef", .object([("fieldPath", .string(path))]))]))])
        }
        return .object([
            ("name", .string(name)), ("image", .string(image)), ("imagePullPolicy", values["fsm.image.pullPolicy"]),
            ("command", .array([.string(Self.binaryPath)])), ("args", .array(arguments.map { .string($0) })),
            ("workingDir", .string("/var/run/fsm")),
            ("env", .array(environment)),
            ("ports", .array(ports.map { .object([("name", .string($0.0)), ("containerPort", .int($0.1)), ("protocol", .string("TCP"))]) })),
        ] + probes + [
            ("resources", .object([("requests", quantities("requests")), ("limits", quantities("limits"))])),
            ("securityContext", .object([
                ("allowPrivilegeEscalation", .bool(false)), ("readOnlyRootFilesystem", .bool(true)), ("runAsNonRoot", .bool(true)),
                ("capabilities", .object([("drop", .array([.string("ALL")]))])),
            ])),
            ("volumeMounts", .array([.object([("name", .string("scratch")), ("mountPath", .string("/var/run/fsm"))])])),
        ])
    }

    /// Where the image keeps the binary.
    public static let binaryPath = "/usr/local/bin/fsm"

    static func httpProbe(_ path: String, _ port: Int) -> JSONValue {
        .object([
            ("httpGet", .object([("path", .string(path)), ("port", .int(port)), ("scheme", .string("HTTP"))])),
            ("initialDelaySeconds", .int(1)), ("periodSeconds", .int(10)), ("timeoutSeconds", .int(5)), ("failureThreshold", .int(3)),
        ])
    }

    static func tcpProbe(_ port: Int) -> JSONValue {
        .object([
            ("tcpSocket", .object([("port", .int(port))])),
            ("initialDelaySeconds", .int(1)), ("periodSeconds", .int(10)), ("timeoutSeconds", .int(5)), ("failureThreshold", .int(3)),
        ])
    }

    /// FSM's zerolog level names as swift-log's (`--log-level`).
    static func swiftLogLevel(_ level: String) -> String {
        switch level {
        case "warn": "warning"
        case "fatal", "panic", "disabled": "critical"
        default: level
        }
    }
}
