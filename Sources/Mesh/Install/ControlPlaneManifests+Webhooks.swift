import MeshModel

/// The injection webhook (pods created in monitored namespaces, F1-043..F1-047) and the MeshConfig
/// validating webhook, both served by `fsm-injector`. No `caBundle`: the injector sets it to the
/// mesh root at start, once it has its certificate.
extension ControlPlaneManifests {
    func webhookConfigurations() -> [JSONValue] {
        let name = ControlPlaneComponent.webhookConfigurationName(meshName: meshName)
        let timeout = values["fsm.injector.webhookTimeoutSeconds"]
        let injection = JSONValue.object([
            ("name", .string("sidecar-injector.flomesh.io")),
            ("clientConfig", clientConfig(path: Self.mutatePodPath)),
            ("rules", .array([rule(["CREATE"], group: "", versions: ["v1"], resource: "pods")])),
            // The injection rule's namespace half: monitored by this mesh, not ignored, not the control plane's.
            ("namespaceSelector", .object([
                ("matchLabels", .object([("flomesh.io/monitored-by", .string(meshName))])),
                ("matchExpressions", .array([
                    Self.expression("flomesh.io/ignore", "DoesNotExist", []),
                    Self.expression("name", "NotIn", [namespace]),
                ])),
            ])),
            ("failurePolicy", .string("Fail")), ("sideEffects", .string("NoneOnDryRun")),
            ("admissionReviewVersions", .array([.string("v1")])), ("timeoutSeconds", timeout), ("reinvocationPolicy", .string("Never")),
        ])
        let meshConfigVersions = CustomResourceKind.meshConfig.apiVersions.map { String($0.drop(while: { $0 != "/" }).dropFirst()) }
        let validation = JSONValue.object([
            ("name", .string("meshconfig-validator.flomesh.io")),
            ("clientConfig", clientConfig(path: Self.validatePath)),
            ("rules", .array([rule(["CREATE", "UPDATE"], group: CustomResourceKind.meshConfig.group, versions: meshConfigVersions, resource: "meshconfigs")])),
            ("namespaceSelector", .object([("matchLabels", .object([("kubernetes.io/metadata.name", .string(namespace))]))])),
            ("failurePolicy", .string("Fail")), ("sideEffects", .string("None")),
            ("admissionReviewVersions", .array([.string("v1")])), ("timeoutSeconds", timeout),
        ])
        let meta = metadata(name, namespaced: false, app: "fsm-injector")
        return [
            Self.document("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", meta, [("webhooks", .array([injection]))]),
            Self.document("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", meta, [("webhooks", .array([validation]))]),
        ]
    }

    func clientConfig(path: String) -> JSONValue {
        .object([("service", .object([
            ("name", .string("fsm-injector")), ("namespace", .string(namespace)), ("path", .string(path)), ("port", .int(443)),
        ]))])
    }

    func rule(_ operations: [String], group: String, versions: [String], resource: String) -> JSONValue {
        .object([
            ("operations", .array(operations.map { .string($0) })), ("apiGroups", .array([.string(group)])),
            ("apiVersions", .array(versions.map { .string($0) })), ("resources", .array([.string(resource)])), ("scope", .string("Namespaced")),
        ])
    }

    static func expression(_ key: String, _ op: String, _ values: [String]) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("key", .string(key)), ("operator", .string(op))]
        if !values.isEmpty { pairs.append(("values", .array(values.map { .string($0) }))) }
        return .object(pairs)
    }
}
