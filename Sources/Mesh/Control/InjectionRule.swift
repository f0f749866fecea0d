import MeshModel

/// Whether a pod gets a sidecar: the guide's rule (F1-043..F1-048), shared by the controller (which
/// meshes exactly the pods the webhook injected) and the injection webhook.
///
/// A pod is injected when its namespace is in the mesh (labelled `flomesh.io/monitored-by: <mesh>`)
/// and either the pod is annotated `flomesh.io/sidecar-injection: enabled`, or the namespace is and
/// the pod is not annotated `disabled`. Never: pods on the host network, the control plane's
/// namespace (by name or by its `name: <fsm namespace>` label), `kube-system` and `kube-public`,
/// namespaces excluded by `fsm namespace ignore` (label `flomesh.io/ignore`, any value) and
/// namespaces labelled `control-plane` (FSM's webhook selector skips both). Annotation values are
/// FSM's: `enabled`/`yes`/`true` and `disabled`/`no`/`false`, in any case; anything else is an
/// error the webhook reports (and the controller treats as not injected).
public struct InjectionRule: Hashable, Sendable {
    public static let monitoredLabel = "flomesh.io/monitored-by"
    public static let injectionAnnotation = "flomesh.io/sidecar-injection"
    public static let ignoreLabel = "flomesh.io/ignore"
    public static let controlPlaneLabel = "control-plane"
    /// Namespaces Kubernetes owns; FSM never injects there.
    public static let systemNamespaces: Set<String> = ["kube-system", "kube-public"]

    public let meshName: String
    public let controlPlaneNamespace: String

    public init(meshName: String, controlPlaneNamespace: String) {
        self.meshName = meshName
        self.controlPlaneNamespace = controlPlaneNamespace
    }

    /// Why a pod is or is not injected.
    public enum Decision: Hashable, Sendable, CustomStringConvertible {
        case inject
        case hostNetwork
        case namespaceNotMonitored
        case namespaceExcluded(String)
        case disabledByPod
        case notEnabled
        /// An annotation value that is none of the accepted ones: where and what.
        case invalidAnnotation(on: String, value: String)

        public var injects: Bool { self == .inject }

        public var description: String {
            switch self {
            case .inject: "injected"
            case .hostNetwork: "the pod uses the host network"
            case .namespaceNotMonitored: "the namespace is not monitored by this mesh"
            case .namespaceExcluded(let why): "the namespace is excluded: \(why)"
            case .disabledByPod: "the pod is annotated \(InjectionRule.injectionAnnotation): disabled"
            case .notEnabled: "neither the pod nor its namespace is annotated \(InjectionRule.injectionAnnotation): enabled"
            case .invalidAnnotation(let on, let value):
                "invalid value \"\(value)\" of annotation \(InjectionRule.injectionAnnotation) on \(on): expected enabled, yes, true, disabled, no or false"
            }
        }
    }

    /// In the mesh: labelled `flomesh.io/monitored-by: <mesh>` and not the control plane's namespace.
    public func isMonitored(_ namespace: Namespace) -> Bool {
        namespace.metadata.labels[Self.monitoredLabel] == meshName
            && namespace.metadata.labels["name"] != controlPlaneNamespace
            && namespace.metadata.name != controlPlaneNamespace
    }

    /// The decision for a pod with these annotations in `namespace` (nil: not known, so not monitored).
    public func decide(namespace: Namespace?, podAnnotations: [String: String], hostNetwork: Bool) -> Decision {
        if hostNetwork { return .hostNetwork }
        guard let namespace, isMonitored(namespace) else { return .namespaceNotMonitored }
        if let why = exclusion(of: namespace) { return .namespaceExcluded(why) }
        let podValue = podAnnotations[Self.injectionAnnotation]
        let pod = Self.switchValue(podValue)
        guard podValue == nil || pod != nil else { return .invalidAnnotation(on: "the pod", value: podValue ?? "") }
        if pod == true { return .inject }
        let namespaceValue = namespace.metadata.annotations[Self.injectionAnnotation]
        let enabled = Self.switchValue(namespaceValue)
        guard namespaceValue == nil || enabled != nil else {
            return .invalidAnnotation(on: "namespace \(namespace.metadata.name)", value: namespaceValue ?? "")
        }
        guard enabled == true else { return .notEnabled }
        return pod == false ? .disabledByPod : .inject
    }

    /// The decision for a pod the model already decoded.
    public func decide(_ pod: Pod, namespace: Namespace?) -> Decision {
        decide(namespace: namespace, podAnnotations: pod.metadata.annotations, hostNetwork: pod.spec.hostNetwork)
    }

    private func exclusion(of namespace: Namespace) -> String? {
        if Self.systemNamespaces.contains(namespace.metadata.name) { return "\(namespace.metadata.name) belongs to Kubernetes" }
        if let value = namespace.metadata.labels[Self.ignoreLabel] { return "labelled \(Self.ignoreLabel)=\(value) (fsm namespace ignore)" }
        if namespace.metadata.labels[Self.controlPlaneLabel] != nil { return "labelled \(Self.controlPlaneLabel)" }
        return nil
    }

    /// true/false for the accepted spellings; nil when absent or neither.
    private static func switchValue(_ value: String?) -> Bool? {
        switch value?.lowercased() {
        case "enabled", "yes", "true": true
        case "disabled", "no", "false": false
        default: nil
        }
    }
}
