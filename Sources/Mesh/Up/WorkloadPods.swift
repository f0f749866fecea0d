import Foundation
import MeshControl
import MeshManifest
import MeshModel
import MeshShell

/// The pod objects a manifest directory stands for, as JSON (what the API server would hand the
/// admission webhook): each Pod as written, and each Deployment's or StatefulSet's pods made from
/// its template the way `ClusterConventions` names them (`<workload>-<ordinal>`), with the
/// template's labels and annotations and an owner reference (a Deployment's pods are owned by a
/// ReplicaSet `<deployment>-<hash>`, which the injector turns back into the Deployment).
public struct WorkloadPods: Sendable {
    private var pods: [String: JSONValue] = [:]

    /// From the documents of the manifests, in file order (the first definition of a name counts).
    public init(documents: [JSONValue]) {
        for document in documents {
            let namespace = document["metadata"]?["namespace"]?.stringValue ?? "default"
            guard let name = document["metadata"]?["name"]?.stringValue else { continue }
            switch document["kind"]?.stringValue {
            case "Pod":
                add("\(namespace)/\(name)", document.setting(["metadata", "namespace"], .string(namespace)))
            case "Deployment", "StatefulSet":
                let replicas = document["spec"]?["replicas"]?.intValue ?? 1
                for ordinal in 0..<max(0, replicas) {
                    let podName = ClusterConventions.podName(workload: name, ordinal: ordinal)
                    add("\(namespace)/\(podName)", Self.pod(named: podName, namespace: namespace, of: document))
                }
            default:
                continue
            }
        }
    }

    /// Reads every `*.yaml`/`*.yml` file of a directory in name order (as the controller does).
    public init(directory: String) throws(UpError) {
        var documents: [JSONValue] = []
        do {
            for name in try InputFile.listDirectory(directory).filter({ $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }).sorted() {
                let path = (directory as NSString).appendingPathComponent(name)
                let bytes = try InputFile.read(path, limit: ManifestLimits.maxFileBytes, directoryHint: "manifests are *.yaml files", tooLarge: SourceText.tooLarge)
                let text = try SourceText.decode(bytes, file: path)
                documents += try YAMLReader.documents(text: text, file: path).filter { !$0.isNull }.map(\.jsonValue)
            }
        } catch {
            throw UpError.badManifests(["\(error)"])
        }
        self.init(documents: documents)
    }

    /// The pod `namespace/name`, if the manifests define it.
    public func pod(_ key: String) -> JSONValue? { pods[key] }

    private mutating func add(_ key: String, _ pod: JSONValue) {
        if pods[key] == nil { pods[key] = pod }
    }

    private static func pod(named name: String, namespace: String, of workload: JSONValue) -> JSONValue {
        let template = workload["spec"]?["template"]
        let kind = workload["kind"]?.stringValue ?? "Deployment"
        let workloadName = workload["metadata"]?["name"]?.stringValue ?? ""
        let spec = template?["spec"] ?? .object([])
        let owner: (kind: String, name: String) = kind == "Deployment" ? ("ReplicaSet", "\(workloadName)-\(templateHash(spec))") : (kind, workloadName)
        var metadata: [(String, JSONValue)] = [("name", .string(name)), ("namespace", .string(namespace))]
        for field in ["labels", "annotations"] {
            if let value = template?["metadata"]?[field], value != .null { metadata.append((field, value)) }
        }
        metadata.append(("ownerReferences", .array([.object([
            ("apiVersion", .string("apps/v1")), ("kind", .string(owner.kind)), ("name", .string(owner.name)), ("controller", .bool(true)),
        ])])))
        return .object([("apiVersion", .string("v1")), ("kind", .string("Pod")), ("metadata", .object(metadata)), ("spec", spec)])
    }

    /// Ten hex digits standing for Kubernetes' pod-template-hash (FNV-1a of the template's JSON).
    private static func templateHash(_ spec: JSONValue) -> String {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in spec.rendered().utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 1_099_511_628_211
        }
        return String(String(hash, radix: 16).suffix(10))
    }
}
