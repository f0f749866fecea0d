import Foundation
import MeshModel

/// The objects of one gateway workload, as FSM's controller makes them: label `app=fsm-gateway`
/// (`app=fsm-ingress` for the ingress), the image and restricted securityContext of the control
/// plane's own Deployments, the credential mounted 0600.
extension GatewayProvisioningPlan {
    /// The non-root uid of the image (the control plane's).
    static let uid = 65532
    static let binaryPath = "/usr/local/bin/fsm"

    func labels(_ workload: Workload) -> [(String, JSONValue)] {
        [
            ("app", .string(workload.owner == nil ? Self.ingressName : "fsm-gateway")),
            ("app.kubernetes.io/managed-by", .string("fsm")),
            (Self.provisionerLabel, .string(settings.meshName)),
            ("gateway.flomesh.io/namespace", .string(workload.namespace)),
        ]
    }

    /// What picks the workload's pods: one namespace's gateway.
    func selector(_ workload: Workload) -> JSONValue {
        .object(labels(workload).filter { $0.0 == "app" || $0.0 == "gateway.flomesh.io/namespace" })
    }

    func metadata(name: String, _ workload: Workload, annotations: [(String, JSONValue)] = []) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("name", .string(name)), ("namespace", .string(workload.namespace)), ("labels", .object(labels(workload)))]
        if !annotations.isEmpty { pairs.append(("annotations", .object(annotations))) }
        if let owner = workload.owner {
            pairs.append(("ownerReferences", .array([.object([
                ("apiVersion", .string(KubeResourceType.gateways.apiVersion)), ("kind", .string("Gateway")), ("name", .string(owner.key.name)),
                ("uid", .string(owner.uid)), ("controller", .bool(true)), ("blockOwnerDeletion", .bool(true)),
            ])])))
        }
        return .object(pairs)
    }

    /// The object with a hash of itself in `metadata.annotations[specHashAnnotation]`.
    static func hashed(_ object: JSONValue) -> JSONValue {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a: stable across runs, unlike Hasher
        for byte in object.rendered().utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let annotations = (object["metadata"]?["annotations"] ?? .object([])).setting(specHashAnnotation, to: .string(String(hash, radix: 16)))
        return object.setting("metadata", to: (object["metadata"] ?? .object([])).setting("annotations", to: annotations))
    }

    func deployment(_ workload: Workload) -> JSONValue {
        let arguments = ["gateway", "--controller", settings.controllerURL, "--gateway", workload.gateway,
                         "--credential-file", "\(Self.credentialMountPath)/\(Self.credentialKey)", "--bind", "0.0.0.0"]
        let container = JSONValue.object([
            ("name", .string("gateway")), ("image", .string(settings.image)), ("imagePullPolicy", .string(settings.imagePullPolicy)),
            ("command", .array([.string(Self.binaryPath)])), ("args", .array(arguments.map { .string($0) })),
            ("ports", .array(workload.ports.map { port in
                .object([("name", .string("\(port.transport.lowercased())-\(port.port)")), ("containerPort", .int(port.port)), ("protocol", .string(port.transport))])
            })),
            ("securityContext", .object([
                ("allowPrivilegeEscalation", .bool(false)), ("readOnlyRootFilesystem", .bool(true)), ("runAsNonRoot", .bool(true)),
                ("capabilities", .object([("drop", .array([.string("ALL")]))])),
            ])),
            ("volumeMounts", .array([.object([("name", .string("credential")), ("mountPath", .string(Self.credentialMountPath)), ("readOnly", .bool(true))])])),
        ])
        let podSpec = JSONValue.object([
            ("securityContext", .object([
                ("runAsNonRoot", .bool(true)), ("runAsUser", .int(Self.uid)), ("runAsGroup", .int(Self.uid)), ("fsGroup", .int(Self.uid)),
                ("seccompProfile", .object([("type", .string("RuntimeDefault"))])),
                // Listener ports below 1024 (the ingress's 80) without a capability: a namespaced, safe sysctl.
                ("sysctls", .array([.object([("name", .string("net.ipv4.ip_unprivileged_port_start")), ("value", .string("0"))])])),
            ])),
            ("automountServiceAccountToken", .bool(false)),
            ("containers", .array([container])),
            ("volumes", .array([.object([("name", .string("credential")), ("secret", .object([
                ("secretName", .string(Self.credentialSecretName(workload.name))), ("defaultMode", .int(0o600)),
            ]))])])),
        ])
        return Self.hashed(.object([
            ("apiVersion", .string("apps/v1")), ("kind", .string("Deployment")), ("metadata", metadata(name: workload.name, workload)),
            ("spec", .object([
                ("replicas", .int(1)),
                ("selector", .object([("matchLabels", selector(workload))])),
                ("template", .object([("metadata", .object([("labels", .object(labels(workload)))])), ("spec", podSpec)])),
            ])),
        ]))
    }

    func service(_ workload: Workload) -> JSONValue {
        Self.hashed(.object([
            ("apiVersion", .string("v1")), ("kind", .string("Service")), ("metadata", metadata(name: workload.name, workload)),
            ("spec", .object([
                ("type", .string("LoadBalancer")),
                ("selector", selector(workload)),
                ("ports", .array(workload.ports.map { port in
                    .object([("name", .string("\(port.transport.lowercased())-\(port.port)")), ("port", .int(port.port)), ("targetPort", .int(port.port)),
                             ("protocol", .string(port.transport))])
                })),
            ])),
        ]))
    }

    /// The credential Secret (`Opaque`, one key), annotated with the Gateway it was minted for.
    func credentialSecret(_ key: KubeObjectKey, token: String, gateway: String, owner: GatewayObject?) -> JSONValue {
        let workload = Workload(namespace: key.namespace, name: key.name, gateway: gateway, ports: [], owner: owner)
        return .object([
            ("apiVersion", .string("v1")), ("kind", .string("Secret")),
            ("metadata", metadata(name: key.name, workload, annotations: [(Self.gatewayAnnotation, .string(gateway))])),
            ("type", .string("Opaque")),
            ("data", .object([(Self.credentialKey, .string(Data((token + "\n").utf8).base64EncodedString()))])),
        ])
    }
}
