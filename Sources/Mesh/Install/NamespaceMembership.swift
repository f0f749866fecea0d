import MeshModel

/// What `fsm namespace add|remove|ignore` and `fsm metrics enable|disable` do to one namespace,
/// decided from the namespace as the API server returned it (F1-023, F1-024, F1-039, F1-043..F1-048):
/// a JSON merge patch of its labels and annotations and the line the guides print, or a refusal.
/// Pure; the CLI sends the patch through the Kubernetes client.
public struct NamespaceMembership: Sendable {
    public static let monitoredByLabel = "flomesh.io/monitored-by"
    public static let ignoreLabel = "flomesh.io/ignore"
    public static let injectionAnnotation = "flomesh.io/sidecar-injection"
    public static let metricsAnnotation = "flomesh.io/metrics"

    public var name: String
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(name: String, labels: [String: String] = [:], annotations: [String: String] = [:]) {
        self.name = name
        self.labels = labels
        self.annotations = annotations
    }

    /// A Namespace object's name, labels and annotations; nil when it has no name.
    public init?(object: JSONValue) {
        guard case .string(let name)? = object["metadata"]?["name"] else { return nil }
        func strings(_ value: JSONValue?) -> [String: String] {
            guard case .object(let pairs)? = value else { return [:] }
            return Dictionary(pairs.compactMap { key, value in if case .string(let s) = value { (key, s) } else { nil } }) { a, _ in a }
        }
        self.init(name: name, labels: strings(object["metadata"]?["labels"]), annotations: strings(object["metadata"]?["annotations"]))
    }

    /// The outcome of one command on one namespace.
    public enum Outcome: Equatable, Sendable {
        /// Send this merge patch, then print the line.
        case patch(JSONValue, String)
        /// Nothing to change; print the line.
        case unchanged(String)
        /// Refused: the one-line reason (exit 1).
        case refused(String)
    }

    /// `fsm namespace add NS [--mesh-name M] [--disable-sidecar-injection]`. `controlPlaneHere`:
    /// the namespace holds an fsm-controller.
    public func add(meshName: String, disableSidecarInjection: Bool, controlPlaneHere: Bool) -> Outcome {
        if controlPlaneHere { return .unchanged("Namespace [\(name)] already has [fsm-controller] installed and cannot be added to mesh [\(meshName)]") }
        let injection = disableSidecarInjection ? "disabled" : "enabled"
        if labels[Self.monitoredByLabel] == meshName, annotations[Self.injectionAnnotation] == injection {
            return .unchanged("Namespace [\(name)] has already been added to mesh [\(meshName)]")
        }
        if labels[Self.ignoreLabel] == "true" { return .refused("Cannot add ignored namespace [\(name)]: remove its \(Self.ignoreLabel) label first") }
        return .patch(Self.metadataPatch(labels: [(Self.monitoredByLabel, .string(meshName))], annotations: [(Self.injectionAnnotation, .string(injection))]),
                      "Namespace [\(name)] successfully added to mesh [\(meshName)]")
    }

    /// `fsm namespace remove NS [--mesh-name M]`: the mesh's label, the ignore label, the
    /// injection and metrics annotations go (F1-024).
    public func remove(meshName: String) -> Outcome {
        guard let current = labels[Self.monitoredByLabel] else { return .unchanged("Namespace [\(name)] already does not belong to any mesh") }
        guard current == meshName else { return .refused("Namespace belongs to mesh [\(current)], not mesh [\(meshName)]. Please specify the correct mesh") }
        return .patch(Self.metadataPatch(labels: [(Self.monitoredByLabel, .null), (Self.ignoreLabel, .null)],
                                         annotations: [(Self.injectionAnnotation, .null), (Self.metricsAnnotation, .null)]),
                      "Namespace [\(name)] successfully removed from mesh [\(meshName)]")
    }

    /// `fsm namespace ignore NS`.
    public func ignore() -> Outcome {
        .patch(Self.metadataPatch(labels: [(Self.ignoreLabel, .string("true"))], annotations: []), "Successfully configured namespace [\(name)] to be ignored")
    }

    /// `fsm metrics enable|disable --namespace NS`: only a namespace some mesh monitors.
    public func metrics(enable: Bool) -> Outcome {
        guard labels[Self.monitoredByLabel] != nil else {
            return .refused("namespace [\(name)] does not belong to a mesh, missing label \"\(Self.monitoredByLabel)\"")
        }
        let value: JSONValue = enable ? .string("enabled") : .null
        return .patch(Self.metadataPatch(labels: [], annotations: [(Self.metricsAnnotation, value)]),
                      "Metrics successfully \(enable ? "enabled" : "disabled") in namespace [\(name)]")
    }

    /// `fsm namespace list [--mesh-name M]`: the namespaces some mesh (or mesh M) monitors, as the guides' table.
    public static func list(_ namespaces: [NamespaceMembership], meshName: String?) -> String {
        let members = namespaces.filter { ns in ns.labels[monitoredByLabel].map { meshName == nil || $0 == meshName } ?? false }
            .sorted { $0.name < $1.name }
        guard !members.isEmpty else { return meshName.map { "No namespaces in mesh [\($0)]\n" } ?? "No namespaces in any mesh\n" }
        let rows = [["NAMESPACE", "MESH", "SIDECAR-INJECTION"]] + members.map { ns in
            [ns.name, ns.labels[monitoredByLabel] ?? "", ns.labels[ignoreLabel] != nil ? "disabled (ignored)" : ns.annotations[injectionAnnotation] ?? "-"]
        }
        return TextTable.render(rows) + "\n"
    }

    /// `{"metadata": {"labels": {...}, "annotations": {...}}}`; a null value deletes the key.
    static func metadataPatch(labels: [(String, JSONValue)], annotations: [(String, JSONValue)]) -> JSONValue {
        var metadata: [(String, JSONValue)] = []
        if !labels.isEmpty { metadata.append(("labels", .object(labels))) }
        if !annotations.isEmpty { metadata.append(("annotations", .object(annotations))) }
        return .object([("metadata", .object(metadata))])
    }
}
