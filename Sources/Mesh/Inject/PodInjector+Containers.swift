import Foundation
import MeshModel
import MeshRedirect

/// The containers an injection adds: `fsm-init` (programs the pod's traffic capture, then exits;
/// iptables interception only) and `sidecar` (`fsm sidecar --capture iptables|ebpf`, uid 1500).
extension PodInjector {
    /// `fsm init` with the pod's merged capture lists; root with NET_ADMIN (or privileged when
    /// MeshConfig's `enablePrivilegedInitContainer` says so, for OpenShift).
    func initContainer(meshConfig: MeshConfig, redirect: RedirectSettings) -> JSONValue {
        .object([
            ("name", .string(Self.initContainerName)),
            ("image", .string(settings.image(for: meshConfig))),
            ("imagePullPolicy", .string(settings.imagePullPolicy)),
            ("command", .array([.string(settings.binaryPath), .string("init")])),
            ("args", .array(InitArguments(redirect).arguments.map(JSONValue.string))),
            ("securityContext", .object([
                ("capabilities", .object([("add", .array([.string("NET_ADMIN")]))])),
                ("privileged", .bool(meshConfig.sidecar.enablePrivilegedInitContainer)),
                ("runAsNonRoot", .bool(false)),
                ("runAsUser", .int(0)),
            ])),
        ])
    }

    /// `fsm sidecar` under MeshConfig's interception mode (iptables or eBPF), told its pod by the downward API, its credential by
    /// the mounted Secret, and the pod's rewritten probes.
    func sidecarContainer(_ view: PodView, meshConfig: MeshConfig, probes: [SidecarProbe]) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("name", .string(Self.sidecarContainerName)),
            ("image", .string(settings.image(for: meshConfig))),
            ("imagePullPolicy", .string(settings.imagePullPolicy)),
            ("command", .array([.string(settings.sidecarBinaryPath), .string("sidecar")])),
            ("args", .array(sidecarArguments(view, meshConfig: meshConfig, probes: probes).map(JSONValue.string))),
            ("env", .array(Self.downwardEnvironment(meshName: settings.meshName))),
            ("ports", .array(Self.sidecarPorts(probes))),
        ]
        if !meshConfig.sidecar.resources.isEmpty { pairs.append(("resources", Self.resources(meshConfig.sidecar.resources))) }
        pairs += [
            ("securityContext", .object([
                ("allowPrivilegeEscalation", .bool(false)),
                ("capabilities", .object([("drop", .array([.string("ALL")]))])),
                ("runAsGroup", .int(RedirectSettings.defaultProxyUID)),
                ("runAsNonRoot", .bool(true)),
                ("runAsUser", .int(RedirectSettings.defaultProxyUID)),
                ("seccompProfile", .object([("type", .string("RuntimeDefault"))])),
            ])),
            ("volumeMounts", .array([.object([
                ("mountPath", .string(Self.credentialMountPath)), ("name", .string(Self.credentialVolume)), ("readOnly", .bool(true)),
            ])])),
        ]
        return .object(pairs)
    }

    private func sidecarArguments(_ view: PodView, meshConfig: MeshConfig, probes: [SidecarProbe]) -> [String] {
        var arguments = [
            "--capture", meshConfig.traffic.interceptionMode.rawValue,
            "--controller", settings.controllerURL,
            "--pod", "$(POD_NAMESPACE)/$(POD_NAME)",
            "--pod-ip", "$(POD_IP)",
            "--credential-file", Self.credentialMountPath + "/" + CredentialSecret.dataKey,
            "--log-level", Self.logLevel(meshConfig.sidecar.logLevel),
        ]
        if let workload = view.workload { arguments += ["--workload-kind", workload.kind, "--workload-name", workload.name] }
        for probe in probes { arguments += ["--probe", probe.argument] }
        return arguments
    }

    /// MeshConfig's `spec.sidecar.logLevel` (FSM's zerolog levels) as `fsm sidecar --log-level`.
    static func logLevel(_ meshLevel: String) -> String {
        switch meshLevel.lowercased() {
        case "trace": "trace"
        case "debug": "debug"
        case "info": "info"
        case "warn": "warning"
        case "error": "error"
        default: "critical"
        }
    }

    static func downwardEnvironment(meshName: String) -> [JSONValue] {
        func field(_ name: String, _ path: String) -> JSONValue {
            .object([("name", .string(name)), ("valueFrom", .object([("fieldRef", .object([("apiVersion", .string("v1")), ("fieldPath", .string(path))]))]))])
        }
        return [
            .object([("name", .string("MESH_NAME")), ("value", .string(meshName))]),
            field("POD_NAME", "metadata.name"),
            field("POD_NAMESPACE", "metadata.namespace"),
            field("POD_IP", "status.podIP"),
            field("SERVICE_ACCOUNT", "spec.serviceAccountName"),
        ]
    }

    /// The guide's reserved ports (F1-042, F1-058), and a probe port for each rewritten probe.
    static func sidecarPorts(_ probes: [SidecarProbe]) -> [JSONValue] {
        var ports: [(String, Int)] = [("proxy-admin", 15000), ("proxy-outbound", 15001), ("proxy-inbound", 15003), ("proxy-metrics", 15010)]
        for kind in SidecarProbe.Kind.allCases where probes.contains(where: { $0.kind == kind && $0.servedPort == kind.port }) {
            ports.append(("\(kind.rawValue)-port", kind.port))
        }
        if probes.contains(where: { $0.servedPort == SidecarProbe.healthcheckPort }) { ports.append(("healthcheck", SidecarProbe.healthcheckPort)) }
        return ports.map { .object([("containerPort", .int($0.1)), ("name", .string($0.0))]) }
    }

    static func resources(_ requirements: ResourceRequirements) -> JSONValue {
        func quantities(_ map: [String: String]) -> JSONValue { .object(map.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }) }
        var pairs: [(String, JSONValue)] = []
        if !requirements.limits.isEmpty { pairs.append(("limits", quantities(requirements.limits))) }
        if !requirements.requests.isEmpty { pairs.append(("requests", quantities(requirements.requests))) }
        return .object(pairs)
    }
}

/// Standard base64 (Secret data, the AdmissionReview patch).
enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}
