/// The Kubernetes workload a proxy runs for (`Spec.Workload` in its config): what FSM's Pipy
/// sidecar reads from its environment (`POD_NAMESPACE`, `POD_CONTROLLER_KIND`, the workload name,
/// `POD_NAME`) and puts on its metrics as `source_namespace`, `source_workload_kind`,
/// `source_workload_name` and `source_workload_pod`. The controller stamps it per pod on the
/// config it serves (a proxy group's config is shared; only this part is the pod's own).
public struct ProxyWorkload: Hashable, Sendable {
    public var namespace: String
    public var kind: String
    public var name: String
    public var pod: String

    public init(namespace: String, kind: String, name: String, pod: String) {
        self.namespace = namespace
        self.kind = kind
        self.name = name
        self.pod = pod
    }

    public var jsonValue: JSONValue {
        .object([("Namespace", .string(namespace)), ("Kind", .string(kind)), ("Name", .string(name)), ("Pod", .string(pod))])
    }

    /// `compactJSON` (a config's compact rendering without a workload, `ProxyConfig.renderedJSON()`)
    /// with this workload put first in `Spec`: the same bytes as rendering the config with
    /// `spec.workload` set, without rendering the whole config again for every pod of its group.
    /// nil when the text does not start the way the renderer starts a config.
    public func spliced(into compactJSON: String) -> String? {
        // The version string is JSON-escaped, so the first `,"Spec":{` ends it.
        let marker = Array(#","Spec":{"#.utf8)
        let bytes = Array(compactJSON.utf8)
        guard compactJSON.hasPrefix(#"{"Version":"#), bytes.count >= marker.count,
              let start = (0...(bytes.count - marker.count)).first(where: { bytes[$0..<($0 + marker.count)].elementsEqual(marker) }) else { return nil }
        let cut = start + marker.count
        return String(decoding: bytes[..<cut], as: UTF8.self) + #""Workload":"# + jsonValue.rendered() + "," + String(decoding: bytes[cut...], as: UTF8.self)
    }
}

extension ProxyWorkload {
    init?(_ reader: JSONReader?) throws(ProxyConfigDecodingError) {
        guard let reader else { return nil }
        self.init(namespace: try reader.optionalString("Namespace") ?? "", kind: try reader.optionalString("Kind") ?? "",
                  name: try reader.optionalString("Name") ?? "", pod: try reader.optionalString("Pod") ?? "")
    }
}
