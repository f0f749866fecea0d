import MeshModel

/// The values a container's `env[].valueFrom.fieldRef` may name (Kubernetes' downward API for
/// environment variables), for one pod on this machine.
struct DownwardAPI {
    var values: [String: String]

    init(pod: JSONValue, spec: JSONValue, context: PodLaunchPlan.Context, reader: PodSpecReader) throws(PodSpecProblem) {
        values = [
            "metadata.name": reader.metadata("name") ?? "",
            "metadata.namespace": reader.metadata("namespace") ?? "default",
            "metadata.uid": reader.metadata("uid") ?? "",
            "spec.serviceAccountName": spec["serviceAccountName"]?.stringValue ?? "default",
            "spec.nodeName": spec["nodeName"]?.stringValue ?? "",
            "status.podIP": context.podIP,
            "status.podIPs": context.podIP,
            "status.hostIP": context.hostIP,
            "status.hostIPs": context.hostIP,
        ]
        for field in ["labels", "annotations"] {
            for (key, value) in pod["metadata"]?[field]?.stringMap ?? [:] { values["metadata.\(field)['\(key)']"] = value }
        }
    }

    /// The value of `fieldPath`; nil for a path the downward API does not offer.
    func value(_ fieldPath: String) -> String? {
        if let value = values[fieldPath] { return value }
        // A label or annotation the pod does not carry is the empty string, as in Kubernetes.
        if fieldPath.hasPrefix("metadata.labels['") || fieldPath.hasPrefix("metadata.annotations['"), fieldPath.hasSuffix("']") { return "" }
        return nil
    }
}
