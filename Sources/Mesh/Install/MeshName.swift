/// The mesh name of `fsm install --mesh-name` (F1-005): an RFC 1123 DNS label, since it becomes a
/// label value (`flomesh.io/monitored-by`) and part of resource names.
public enum MeshName {
    public static let defaultName = "fsm"
    public static let defaultNamespace = "fsm-system"

    /// Nil when `name` is a valid mesh name, else the one-line reason.
    public static func problem(with name: String) -> String? {
        let bytes = Array(name.utf8)
        func alphanumeric(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        if let first = bytes.first, let last = bytes.last, bytes.count <= 63, alphanumeric(first), alphanumeric(last),
           bytes.allSatisfy({ alphanumeric($0) || $0 == 0x2D }) {
            return nil
        }
        return "invalid mesh name \"\(name)\": the mesh-name must follow RFC 1123 DNS label constraints: contain at most 63 characters, contain only lowercase alphanumeric characters or '-', start with an alphanumeric character, and end with an alphanumeric character"
    }

    /// Nil when `namespace` is a valid namespace name (also an RFC 1123 label), else the reason.
    public static func namespaceProblem(with namespace: String) -> String? {
        guard problem(with: namespace) != nil else { return nil }
        return "invalid fsm-namespace \"\(namespace)\": a namespace name must be an RFC 1123 DNS label: at most 63 characters, lowercase alphanumeric characters or '-', starting and ending with an alphanumeric character"
    }
}
