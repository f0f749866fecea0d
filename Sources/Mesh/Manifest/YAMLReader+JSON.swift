import MeshModel
import Yams

extension YAMLReader {
    /// The node as JSON, as the API server stores a manifest applied from YAML: mappings in their
    /// order, scalars by the type YAML resolves them to (`80` a number, `"80"` and `web` strings,
    /// `true` a boolean, `~` null). An alias (YAML's `*anchor`) reads as null: manifests have none.
    public var jsonValue: JSONValue {
        switch node {
        case .mapping(let mapping):
            return .object(mapping.map { key, value in
                (key.string ?? "", YAMLReader(node: value, file: file, typeErrorStyle: typeErrorStyle).jsonValue)
            })
        case .sequence(let sequence):
            return .array(sequence.map { YAMLReader(node: $0, file: file, typeErrorStyle: typeErrorStyle).jsonValue })
        case .scalar(let scalar):
            switch valueType {
            case .null: return .null
            case .boolean: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .integer: return node.int.map { .int(Int64($0)) } ?? .string(scalar.string)
            case .number: return node.float.map(JSONValue.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .alias:
            return .null
        }
    }
}
