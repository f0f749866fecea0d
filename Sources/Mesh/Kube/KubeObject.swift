import MeshManifest
import MeshModel
import Yams

/// One object as the API returned it, with the facts the informers need without decoding it.
public struct KubeObject: Sendable {
    public var json: JSONValue

    public init(json: JSONValue) {
        self.json = json
    }

    public var metadata: JSONValue? { json["metadata"] }
    public var name: String { metadata?["name"]?.stringValue ?? "" }
    public var namespace: String { metadata?["namespace"]?.stringValue ?? "" }
    public var resourceVersion: String { metadata?["resourceVersion"]?.stringValue ?? "" }
    public var uid: String { metadata?["uid"]?.stringValue ?? "" }
    /// Set once the API started deleting it (finalizers or a grace period still running).
    public var isTerminating: Bool { metadata?["deletionTimestamp"].map { $0 != .null } ?? false }
    public var key: KubeObjectKey { KubeObjectKey(namespace: namespace, name: name) }
}

/// `namespace/name` of an object (empty namespace for cluster-scoped ones).
public struct KubeObjectKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    public static func < (a: KubeObjectKey, b: KubeObjectKey) -> Bool { (a.namespace, a.name) < (b.namespace, b.name) }
    public var description: String { namespace.isEmpty ? name : "\(namespace)/\(name)" }
}

/// Turns API JSON into the mesh's resources with the same `ManifestDecoder` the manifest directory
/// uses (JSON is YAML: the object becomes a YAML node tree without a second parse). List items
/// come without `kind`/`apiVersion`; they are filled in from the resource type.
public enum KubeObjectDecoder {
    /// The resource, or a one-line problem: `Pod bookbuyer/bookbuyer-0: spec.containers: ...`.
    public static func decode(_ object: KubeObject, as type: KubeResourceType) -> Result<Resource, KubeDecodeProblem> {
        var json = object.json
        if json["kind"] == nil { json = json.setting("kind", to: .string(type.kind)) }
        if json["apiVersion"] == nil { json = json.setting("apiVersion", to: .string(type.apiVersion)) }
        if let metadata = json["metadata"] {
            // Bulky and never read by the mesh.
            json = json.setting("metadata", to: metadata.removing("managedFields"))
        }
        let label = "\(type.kind) \(object.key)"
        let reader = YAMLReader(node: node(json), file: label)
        do {
            return .success(try ManifestDecoder.decode(reader: reader, defaultNamespace: object.namespace).resource)
        } catch {
            return .failure(KubeDecodeProblem(object: label, resourceVersion: object.resourceVersion, path: error.path, message: error.message))
        }
    }

    /// The YAML node of a JSON value: strings are tagged `str` (so `"80"` stays a string), numbers
    /// `int`/`float`, booleans `bool`, null `null`, exactly as a YAML parser would tag the same JSON text.
    static func node(_ value: JSONValue) -> Node {
        switch value {
        case .null: return .scalar(.init("null", Tags.null))
        case .bool(let flag): return .scalar(.init(flag ? "true" : "false", Tags.bool))
        case .int(let number): return .scalar(.init(String(number), Tags.int))
        case .double: return .scalar(.init(value.rendered(), Tags.float))
        case .string(let text): return .scalar(.init(text, Tags.str, .doubleQuoted))
        case .array(let items): return .sequence(.init(items.map(node), Tags.seq))
        case .object(let pairs):
            return .mapping(.init(pairs.map { (Node.scalar(.init($0.0, Tags.str, .doubleQuoted)), node($0.1)) }, Tags.map))
        }
    }

    /// Shared tags: Yams' `Tag` is a class, and a tag with an explicit name is never changed after
    /// creation, so one instance per name serves every node.
    private enum Tags {
        nonisolated(unsafe) static let null = Tag(.null)
        nonisolated(unsafe) static let bool = Tag(.bool)
        nonisolated(unsafe) static let int = Tag(.int)
        nonisolated(unsafe) static let float = Tag(.float)
        nonisolated(unsafe) static let str = Tag(.str)
        nonisolated(unsafe) static let seq = Tag(.seq)
        nonisolated(unsafe) static let map = Tag(.map)
    }
}

/// An object the mesh cannot read, in one line.
public struct KubeDecodeProblem: Error, Hashable, Sendable, CustomStringConvertible {
    /// `Pod bookbuyer/bookbuyer-0`.
    public var object: String
    public var resourceVersion: String
    public var path: String
    public var message: String

    public var description: String {
        let at = resourceVersion.isEmpty ? object : "\(object) (resourceVersion \(resourceVersion))"
        return path.isEmpty ? "\(at): \(message)" : "\(at): \(path): \(message)"
    }
}
