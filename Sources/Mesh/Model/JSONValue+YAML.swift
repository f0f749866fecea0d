/// Block-style YAML for a `JSONValue`, as `kubectl apply -f` reads it: keys in their order, two
/// spaces per level, sequences in a mapping at the key's indentation (kubectl's own style).
///
/// A string is written plain only when every YAML 1.1 and 1.2 reader takes it back as that
/// string (it starts with a letter, `/` or `_`, has no `: ` or ` #`, and is no boolean or null
/// word); anything else is a JSON string literal, which is valid double-quoted YAML. So the
/// output reads the same in Yams, libyaml, PyYAML and Go's YAML, and is stable byte for byte.
extension JSONValue {
    /// One YAML document (no `---` marker), ending in a newline.
    public func renderedYAML() -> String {
        var out = ""
        switch self {
        case .object(let pairs) where !pairs.isEmpty:
            Self.writeMapping(pairs, indent: 0, into: &out)
        case .array(let items) where !items.isEmpty:
            Self.writeSequence(items, indent: 0, into: &out)
        default:
            out += scalarYAML + "\n"
        }
        return out
    }

    /// Several documents separated by `---` lines.
    public static func yamlStream(_ documents: [JSONValue]) -> String {
        documents.map { "---\n" + $0.renderedYAML() }.joined()
    }

    private static func writeMapping(_ pairs: [(String, JSONValue)], indent: Int, into out: inout String, firstLinePrefix: String? = nil) {
        let pad = String(repeating: " ", count: indent)
        for (index, (key, value)) in pairs.enumerated() {
            out += (index == 0 ? firstLinePrefix ?? pad : pad) + yamlString(key) + ":"
            switch value {
            case .object(let nested) where !nested.isEmpty:
                out += "\n"
                writeMapping(nested, indent: indent + 2, into: &out)
            case .array(let items) where !items.isEmpty:
                out += "\n"
                writeSequence(items, indent: indent, into: &out)
            default:
                out += " " + value.scalarYAML + "\n"
            }
        }
    }

    private static func writeSequence(_ items: [JSONValue], indent: Int, into out: inout String) {
        let pad = String(repeating: " ", count: indent)
        for item in items {
            switch item {
            case .object(let pairs) where !pairs.isEmpty:
                writeMapping(pairs, indent: indent + 2, into: &out, firstLinePrefix: pad + "- ")
            case .array(let nested) where !nested.isEmpty:
                out += pad + "-\n"
                writeSequence(nested, indent: indent + 2, into: &out)
            default:
                out += pad + "- " + item.scalarYAML + "\n"
            }
        }
    }

    /// A scalar, or an empty collection, in flow form.
    private var scalarYAML: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .int(let i): String(i)
        case .double(let d): JSONValue.format(d)
        case .string(let s): JSONValue.yamlString(s)
        case .array: "[]"
        case .object: "{}"
        }
    }

    /// Words some YAML reader takes for a boolean or null (YAML 1.1 included), compared lowercased.
    private static let reservedWords: Set<String> = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"]

    static func yamlString(_ s: String) -> String {
        if isPlainSafe(s) { return s }
        var out = ""
        writeString(s, into: &out)
        return out
    }

    private static func isPlainSafe(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, let last = s.unicodeScalars.last else { return false }
        let isLetter: (Unicode.Scalar) -> Bool = { ("a"..."z").contains($0) || ("A"..."Z").contains($0) }
        guard isLetter(first) || first == "/" || first == "_" else { return false }
        guard last != " ", last != ":" else { return false }
        let allowed: (Unicode.Scalar) -> Bool = { isLetter($0) || ("0"..."9").contains($0) || " ._/:=@+-".unicodeScalars.contains($0) }
        guard s.unicodeScalars.allSatisfy(allowed), !s.contains(": "), !s.contains(" #") else { return false }
        return !reservedWords.contains(s.lowercased())
    }
}
