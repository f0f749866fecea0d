/// The fields an object of a kind may have, level by level: strict field validation, as
/// `kubectl apply --validate=strict` (kubectl's default) does it against the API's schema.
///
/// A field that is not part of the kind is an error (`unknown field "replica"; did you mean
/// "replicas"?`), whether or not the mesh uses the level it sits in. Fields the mesh does not
/// model but Kubernetes allows (container `resources`, probes, volumes, `status`, ...) are
/// allowed; values whose inside the mesh never reads (a probe, a free-form map such as `labels`)
/// are `.any` and not looked into. A value of the wrong shape (a scalar where an object belongs)
/// is left to the decoder, which reports its type.
indirect enum FieldSchema: Sendable {
    /// A scalar, a free-form map, or an object whose fields are not checked.
    case any
    /// An object: its field names in the order error messages list them, and the schemas of the
    /// fields that are checked further (the others are `.any`).
    case object([String], [String: FieldSchema])
    /// A list whose elements each follow the schema.
    case list(FieldSchema)

    /// An object with these fields; `nested` gives the schema of the ones that are checked inside.
    static func fields(_ names: [String], _ nested: [String: FieldSchema] = [:]) -> FieldSchema {
        .object(names, nested)
    }

    /// Fails on the first field, depth first in document order, that the schema does not allow.
    func check(_ node: YAMLReader) throws(ManifestError) {
        switch self {
        case .any:
            return
        case .object(let names, let nested):
            guard node.isMapping else { return }
            for (key, value) in try node.entries() {
                guard names.contains(key) else { throw value.unknownField(key, allowed: names) }
                try nested[key]?.check(value)
            }
        case .list(let element):
            guard node.isSequence else { return }
            for item in try node.elements() { try element.check(item) }
        }
    }
}
