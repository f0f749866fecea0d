import MeshModel

/// The fields an object of a kind may have, level by level: strict field validation, as
/// `kubectl apply --validate=strict` (kubectl's default) does it against the API's schema.
///
/// A field that is not part of the kind is an error (`unknown field "replica"; did you mean
/// "replicas"?`), whether or not the mesh uses the level it sits in. Fields the mesh does not
/// model but Kubernetes allows (container `resources`, probes, volumes, `status`, ...) are
/// allowed; values whose inside the mesh never reads (a probe, a free-form map such as `labels`)
/// are `.any` and not looked into. A value of the wrong shape (a scalar where an object belongs)
/// is left to the decoder, which reports its type.
///
/// The custom resource kinds (SMI, FSM) carry their value types too (`.scalar`, `required`,
/// `minItems`): the same table renders their CRDs' OpenAPI v3 schemas
/// (`ManifestDecoder.openAPIV3Schema(kind:)`), so a field the decoder accepts is a field the API
/// server accepts, and the other way round.
indirect enum FieldSchema: Sendable {
    /// Anything, not looked into (OpenAPI: no type, unknown fields preserved).
    case any
    /// An object whose fields are not looked into (OpenAPI: `type: object`, unknown fields preserved).
    case openObject
    /// A typed value; the decoder checks it, the schema tells the API server.
    case scalar(ScalarSchema)
    /// An object: its fields in the order error messages list them.
    case properties([SchemaField])
    /// A list whose elements each follow the schema, with at least `minItems` of them.
    case list(FieldSchema, minItems: Int)
    /// A map from strings to values that follow the schema (labels, selectors).
    case map(FieldSchema)

    /// An object with these fields; `nested` gives the schema of the ones that are checked inside
    /// (the others are `.any`). The shape of the core kinds, whose values the API server checks.
    static func fields(_ names: [String], _ nested: [String: FieldSchema] = [:]) -> FieldSchema {
        .properties(names.map { SchemaField(name: $0, schema: nested[$0] ?? .any, required: false) })
    }

    /// An object with typed fields in this order; `required` names the ones the decoder requires.
    static func object(_ fields: KeyValuePairs<String, FieldSchema>, required: [String] = []) -> FieldSchema {
        .properties(fields.map { SchemaField(name: $0.key, schema: $0.value, required: required.contains($0.key)) })
    }

    static func list(_ element: FieldSchema) -> FieldSchema { .list(element, minItems: 0) }

    static let string = FieldSchema.scalar(.string)
    static let boolean = FieldSchema.scalar(.boolean)
    static let duration = FieldSchema.scalar(.duration)
    static let cidr = FieldSchema.scalar(.cidr)
    static func integer(_ range: ClosedRange<Int>) -> FieldSchema { .scalar(.integer(range)) }
    static func number(_ range: ClosedRange<Double>) -> FieldSchema { .scalar(.number(range)) }
    static func oneOf(_ values: [String]) -> FieldSchema { .scalar(.enumeration(values)) }

    /// The field names of an object schema, in order (empty for other shapes).
    var fieldNames: [String] {
        guard case .properties(let fields) = self else { return [] }
        return fields.map(\.name)
    }

    /// Fails on the first field, depth first in document order, that the schema does not allow.
    func check(_ node: YAMLReader) throws(ManifestError) {
        switch self {
        case .any, .openObject, .scalar:
            return
        case .properties(let fields):
            guard node.isMapping else { return }
            for (key, value) in try node.entries() {
                guard let field = fields.first(where: { $0.name == key }) else { throw value.unknownField(key, allowed: fieldNames) }
                try field.schema.check(value)
            }
        case .list(let element, _):
            guard node.isSequence else { return }
            for item in try node.elements() { try element.check(item) }
        case .map(let value):
            guard node.isMapping else { return }
            for (_, item) in try node.entries() { try value.check(item) }
        }
    }
}

/// One field of an object schema.
struct SchemaField: Sendable {
    var name: String
    var schema: FieldSchema
    /// The decoder requires it (OpenAPI `required`).
    var required: Bool
}

/// The value types the decoder reads, as the CRD schemas state them.
enum ScalarSchema: Sendable {
    case string
    case boolean
    case integer(ClosedRange<Int>)
    case number(ClosedRange<Double>)
    /// A string that must be one of these.
    case enumeration([String])
    /// A Go duration string (`250ms`, `1m30s`, `0`), as `MeshDuration` parses it.
    case duration
    /// An IPv4 or IPv6 range in CIDR notation.
    case cidr
}
