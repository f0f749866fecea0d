import MeshModel
import Yams

/// A read-only view of one YAML node that knows where it is, both in the file (line/column) and in
/// the document (`spec.ports[0].port`), so that every typed accessor can fail with a precise
/// `ManifestError` instead of a generic decoding error.
///
/// Used for Kubernetes manifests (`ManifestDecoder`) and for any other YAML the project reads, such
/// as scenario files. A YAML text embedded in another file as a block scalar keeps positions in
/// the outer file through `lineOffset` and `columnOffset`.
public struct YAMLReader {
    /// How wrong-type errors are worded.
    public enum TypeErrorStyle: Sendable, Hashable {
        /// `expected integer, found string "eighty"`.
        case plain
        /// Kubernetes CRD schema validation, as FSM prints it:
        /// `Invalid value: "string": spec.traffic.enableEgress in body must be of type boolean: "string"`.
        case kubernetesSchema
    }

    /// The kinds of value a YAML node can hold, named for error messages.
    public enum ValueType: String, Sendable, Hashable {
        case string, integer, number, boolean, null, mapping, sequence, duration

        /// The JSON-schema name Kubernetes uses in its validation messages.
        var schemaName: String {
            switch self {
            case .mapping: "object"
            case .sequence: "array"
            case .duration: "string"
            default: rawValue
            }
        }
    }

    public let node: Node
    public let file: String
    /// Field path of this node: `spec.ports[0].port`; empty for a document root.
    public let path: String
    /// Added to every line that libyaml reports (the line before the embedded text starts).
    public let lineOffset: Int
    /// Added to every column that libyaml reports (the indentation stripped from the embedded text).
    public let columnOffset: Int
    public var typeErrorStyle: TypeErrorStyle
    /// Position of the mapping key that names this node, when it was reached through a key.
    private let keyMark: Mark?
    /// The YAML text the node was parsed from, to locate the content of block scalars.
    private let source: String

    /// `source` is the text `node` was parsed from; it is needed only by `embeddedText()`.
    public init(node: Node, file: String, path: String = "", lineOffset: Int = 0, columnOffset: Int = 0, typeErrorStyle: TypeErrorStyle = .plain, source: String = "") {
        self.init(node: node, file: file, path: path, lineOffset: lineOffset, columnOffset: columnOffset, typeErrorStyle: typeErrorStyle, keyMark: nil, source: source)
    }

    private init(node: Node, file: String, path: String, lineOffset: Int, columnOffset: Int, typeErrorStyle: TypeErrorStyle, keyMark: Mark?, source: String) {
        self.node = node
        self.source = source
        self.file = file
        self.path = path
        self.lineOffset = lineOffset
        self.columnOffset = columnOffset
        self.typeErrorStyle = typeErrorStyle
        self.keyMark = keyMark
    }

    // MARK: - Documents

    /// Parses every document of a (possibly multi-document) YAML text. Empty documents are kept as
    /// null nodes (`isNull`), so callers decide whether to skip them. A syntax error becomes a
    /// `ManifestError` at the position libyaml reports.
    public static func documents(text: String, file: String, lineOffset: Int = 0, columnOffset: Int = 0) throws(ManifestError) -> [YAMLReader] {
        var readers: [YAMLReader] = []
        if text.utf8.count > ManifestLimits.maxFileBytes {
            throw ManifestError(file: file, line: lineOffset + 1, column: columnOffset + 1, message: SourceText.tooLarge(text.utf8.count))
        }
        do {
            // Explicit encoding: `.default` would consult the process environment.
            let parser = try Parser(yaml: text, resolver: .default, constructor: .default, encoding: .utf8)
            while let root = try parser.nextRoot() {
                let reader = YAMLReader(node: root, file: file, lineOffset: lineOffset, columnOffset: columnOffset, source: text)
                if readers.count == ManifestLimits.maxDocuments {
                    throw reader.error("more than \(ManifestLimits.maxDocuments) YAML documents in one text; at most \(ManifestLimits.maxDocuments) (split them into several files)")
                }
                readers.append(reader)
            }
        } catch let error as ManifestError {
            throw error
        } catch let error as YamlError {
            throw syntaxError(error, text: text, file: file, lineOffset: lineOffset, columnOffset: columnOffset)
        } catch {
            throw ManifestError(file: file, line: lineOffset + 1, column: columnOffset + 1, message: "cannot parse YAML: \(error)")
        }
        return readers
    }

    /// Parses a text that must hold exactly one document (an empty text gives a null node).
    public static func document(text: String, file: String, lineOffset: Int = 0, columnOffset: Int = 0) throws(ManifestError) -> YAMLReader {
        let all = try documents(text: text, file: file, lineOffset: lineOffset, columnOffset: columnOffset)
        let nonEmpty = all.filter { !$0.isNull }
        if nonEmpty.count > 1 {
            throw nonEmpty[1].error("expected a single YAML document, found \(nonEmpty.count)")
        }
        return nonEmpty.first ?? YAMLReader(node: Node("", Tag(.null)), file: file, lineOffset: lineOffset, columnOffset: columnOffset)
    }

    private static func syntaxError(_ error: YamlError, text: String, file: String, lineOffset: Int, columnOffset: Int) -> ManifestError {
        func at(_ mark: Mark, _ message: String) -> ManifestError {
            let (line, column) = clamped(mark, in: text)
            return ManifestError(file: file, line: line + lineOffset, column: column + columnOffset, message: message)
        }
        func withContext(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context else { return "YAML syntax error: \(problem)" }
            return "YAML syntax error: \(problem) (\(context.text) at line \(context.mark.line + lineOffset), column \(context.mark.column + columnOffset))"
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return at(mark, withContext(problem, context))
        case .duplicatedKeysInMapping(let duplicates, let context):
            let names = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return at(context.mark, "duplicate key \(names) in a mapping")
        case .reader(let problem, let offset, _, _):
            var line = 1, column = 1
            if let offset {
                for character in text.prefix(offset) {
                    if character == "\n" { line += 1; column = 1 } else { column += character.unicodeScalars.count }
                }
            }
            return ManifestError(file: file, line: line + lineOffset, column: column + columnOffset, message: "cannot read YAML text: \(problem)")
        default:
            return ManifestError(file: file, line: lineOffset + 1, column: columnOffset + 1, message: "cannot parse YAML: \(error)")
        }
    }

    /// libyaml puts the end of a text that does not end with a line break on the line after the
    /// last (it adds the break itself): an error there is reported at the end of the last line.
    static func clamped(_ mark: Mark, in text: String) -> (line: Int, column: Int) {
        var line = 1, column = 1
        var afterCR = false
        for scalar in text.unicodeScalars {
            // Line breaks as libyaml counts them: LF, CR, CR LF (one), NEL, LS, PS.
            if scalar == "\n" && afterCR {
                afterCR = false
            } else if scalar == "\n" || scalar == "\r" || scalar == "\u{85}" || scalar == "\u{2028}" || scalar == "\u{2029}" {
                line += 1
                column = 1
                afterCR = scalar == "\r"
            } else {
                column += 1
                afterCR = false
            }
        }
        return mark.line > line ? (line, column) : (mark.line, mark.column)
    }

    // MARK: - Position and shape

    public var location: SourceLocation { Self.location(of: node.mark, file: file, lineOffset: lineOffset, columnOffset: columnOffset) }

    /// Where the key naming this node is; the node's own location for roots and sequence elements.
    public var keyLocation: SourceLocation {
        keyMark.map { Self.location(of: $0, file: file, lineOffset: lineOffset, columnOffset: columnOffset) } ?? location
    }

    private static func location(of mark: Mark?, file: String, lineOffset: Int, columnOffset: Int) -> SourceLocation {
        guard let mark else { return SourceLocation(file: file, line: 0, column: 0) }
        return SourceLocation(file: file, line: mark.line + lineOffset, column: mark.column + columnOffset)
    }

    /// A `~`, `null` or empty value, or an empty document.
    public var isNull: Bool {
        if case .scalar(let scalar) = node { return scalar.resolvedTagName == .null }
        return false
    }

    public var isMapping: Bool { if case .mapping = node { true } else { false } }
    public var isSequence: Bool { if case .sequence = node { true } else { false } }
    public var isScalar: Bool { if case .scalar = node { true } else { false } }

    /// The kind of value held, as named in error messages.
    public var valueType: ValueType {
        switch node {
        case .scalar(let scalar):
            switch scalar.resolvedTagName {
            case .null: .null
            case .bool: .boolean
            case .int: .integer
            case .float: .number
            default: .string
            }
        case .mapping: .mapping
        case .sequence: .sequence
        case .alias: .null
        }
    }

    /// An error at this node, naming its path.
    public func error(_ message: String) -> ManifestError {
        ManifestError(at: location, path: path, message: message)
    }

    /// An error saying this node holds the wrong kind of value.
    public func typeMismatch(expected: ValueType) -> ManifestError {
        let found = valueType
        switch typeErrorStyle {
        case .kubernetesSchema:
            let shownPath = path.isEmpty ? "body" : path
            return error("Invalid value: \"\(found.schemaName)\": \(shownPath) in body must be of type \(expected.schemaName): \"\(found.schemaName)\"")
        case .plain:
            return error("expected \(expected.rawValue), found \(foundDescription)")
        }
    }

    /// `string "yes"`, `integer 80`, `null`, `mapping`.
    public var foundDescription: String {
        switch valueType {
        case .null: return "null"
        case .mapping: return "a mapping"
        case .sequence: return "a sequence"
        case let type:
            let text = node.scalar?.string ?? ""
            return type == .string ? "string \(Self.quoted(text))" : "\(type.rawValue) \(text)"
        }
    }

    static func quoted(_ text: String) -> String {
        var out = ""
        JSONValue.writeString(text, into: &out)
        return out
    }

    // MARK: - Mappings

    private func childPath(key: String) -> String {
        let plain = !key.isEmpty && key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "/" }
        if !plain { return path + "[" + Self.quoted(key) + "]" }
        return path.isEmpty ? key : path + "." + key
    }

    private func child(_ node: Node, key: String, keyMark: Mark?) -> YAMLReader {
        YAMLReader(node: node, file: file, path: childPath(key: key), lineOffset: lineOffset, columnOffset: columnOffset, typeErrorStyle: typeErrorStyle, keyMark: keyMark, source: source)
    }

    private func mappingPairs() throws(ManifestError) -> Node.Mapping? {
        switch node {
        case .mapping(let mapping): return mapping
        case _ where isNull: return nil
        default: throw typeMismatch(expected: .mapping)
        }
    }

    /// The entries of a mapping in document order; a null value counts as an empty mapping.
    public func entries() throws(ManifestError) -> [(key: String, value: YAMLReader)] {
        guard let mapping = try mappingPairs() else { return [] }
        var result: [(key: String, value: YAMLReader)] = []
        result.reserveCapacity(mapping.count)
        for (keyNode, valueNode) in mapping {
            let key = try keyText(keyNode)
            result.append((key, child(valueNode, key: key, keyMark: keyNode.mark)))
        }
        return result
    }

    /// The keys of a mapping with where each one is written.
    public func keys() throws(ManifestError) -> [(key: String, location: SourceLocation)] {
        try entries().map { ($0.key, $0.value.keyLocation) }
    }

    private func keyText(_ keyNode: Node) throws(ManifestError) -> String {
        guard case .scalar(let scalar) = keyNode else {
            throw ManifestError(at: Self.location(of: keyNode.mark, file: file, lineOffset: lineOffset, columnOffset: columnOffset),
                                path: path, message: "expected a plain key, found a \(keyNode.mapping != nil ? "mapping" : "sequence") used as a key")
        }
        return scalar.string
    }

    /// Whether a mapping has a non-null value under `key`.
    public func has(_ key: String) -> Bool {
        (try? optional(key)) != nil
    }

    /// The value under `key`, or nil when the key is absent or its value is null (as Kubernetes treats it).
    public func optional(_ key: String) throws(ManifestError) -> YAMLReader? {
        guard let mapping = try mappingPairs() else { return nil }
        for (keyNode, valueNode) in mapping where keyNode.scalar?.string == key {
            let value = child(valueNode, key: key, keyMark: keyNode.mark)
            return value.isNull ? nil : value
        }
        return nil
    }

    /// The value under `key`; a missing or null value is an error at this mapping.
    public func required(_ key: String) throws(ManifestError) -> YAMLReader {
        if let value = try optional(key) { return value }
        throw ManifestError(at: location, path: childPath(key: key), message: "missing required field \"\(key)\"")
    }

    /// Fails on the first key that is not in `allowed` (see `unknownField`).
    public func checkKnownKeys(_ allowed: [String]) throws(ManifestError) {
        for (key, value) in try entries() where !allowed.contains(key) {
            throw value.unknownField(key, allowed: allowed)
        }
    }

    /// The error for this node's key, which is not among `allowed`, at the key:
    /// `unknown field "replica"; did you mean "replicas"?` when a known name is near (`NearestName`),
    /// else `unknown field "x"; expected one of: a, b, c`.
    public func unknownField(_ key: String, allowed: [String]) -> ManifestError {
        let hint = NearestName.suggestion(for: key, among: allowed).map { "did you mean \(Self.quoted($0))?" }
            ?? "expected one of: \(allowed.joined(separator: ", "))"
        return ManifestError(at: keyLocation, path: path, message: "unknown field \(Self.quoted(key)); \(hint)")
    }

    /// A required string under `key`.
    public func string(_ key: String) throws(ManifestError) -> String {
        try required(key).string()
    }

    /// An optional string under `key`.
    public func optionalString(_ key: String) throws(ManifestError) -> String? {
        try optional(key)?.string()
    }

    // MARK: - Sequences

    /// The elements of a sequence; a null value counts as an empty sequence.
    public func elements() throws(ManifestError) -> [YAMLReader] {
        switch node {
        case .sequence(let sequence):
            return sequence.enumerated().map { index, element in
                YAMLReader(node: element, file: file, path: path + "[\(index)]", lineOffset: lineOffset, columnOffset: columnOffset, typeErrorStyle: typeErrorStyle, keyMark: nil, source: source)
            }
        case _ where isNull: return []
        default: throw typeMismatch(expected: .sequence)
        }
    }

    public func stringList() throws(ManifestError) -> [String] {
        var result: [String] = []
        for element in try elements() { result.append(try element.string()) }
        return result
    }

    public func intList(in range: ClosedRange<Int>? = nil) throws(ManifestError) -> [Int] {
        var result: [Int] = []
        for element in try elements() { result.append(try element.int(in: range)) }
        return result
    }

    /// A mapping of strings to strings, such as labels or a selector.
    public func stringMap() throws(ManifestError) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in try entries() { result[key] = try value.string() }
        return result
    }

    // MARK: - Scalars

    /// A string scalar. Numbers, booleans and null are rejected, as Kubernetes does for string
    /// fields (quote them: `"503"`).
    public func string() throws(ManifestError) -> String {
        guard case .scalar(let scalar) = node else { throw typeMismatch(expected: .string) }
        switch scalar.resolvedTagName {
        case .null, .bool, .int, .float: throw typeMismatch(expected: .string)
        default: return scalar.string
        }
    }

    /// Any scalar as its text, whatever type YAML resolves it to.
    public func scalarText() throws(ManifestError) -> String {
        guard case .scalar(let scalar) = node, !isNull else { throw typeMismatch(expected: .string) }
        return scalar.string
    }

    /// An integer, within `range` when given. `limit` names a documented bound in the message:
    /// `must be between 0 and 10000 (the limit of replicas per workload), found 1000000`.
    public func int(in range: ClosedRange<Int>? = nil, limit: String? = nil) throws(ManifestError) -> Int {
        guard case .scalar(let scalar) = node, scalar.resolvedTagName == .int else { throw typeMismatch(expected: .integer) }
        guard let value = node.int else { throw error("integer \(scalar.string) is too large") }
        if let range, !range.contains(value) {
            throw error("must be \(Self.describe(range))\(limit.map { " (\($0))" } ?? ""), found \(value)")
        }
        return value
    }

    public func bool() throws(ManifestError) -> Bool {
        guard case .scalar(let scalar) = node, scalar.resolvedTagName == .bool, let value = node.bool else { throw typeMismatch(expected: .boolean) }
        return value
    }

    /// A number; integers are accepted too.
    public func double(in range: ClosedRange<Double>? = nil) throws(ManifestError) -> Double {
        guard case .scalar(let scalar) = node else { throw typeMismatch(expected: .number) }
        let value: Double
        switch scalar.resolvedTagName {
        case .int:
            guard let int = node.int else { throw error("number \(scalar.string) is too large") }
            value = Double(int)
        case .float:
            guard let float = node.float, float.isFinite else { throw error("expected a finite number, found \(scalar.string)") }
            value = float
        default:
            throw typeMismatch(expected: .number)
        }
        if let range, !range.contains(value) {
            throw error("must be \(Self.describe(range)), found \(scalar.string)")
        }
        return value
    }

    /// A Go-style duration string: `250ms`, `1s`, `1m30s` (a bare `0` is accepted).
    public func duration() throws(ManifestError) -> MeshDuration {
        guard case .scalar(let scalar) = node else { throw typeMismatch(expected: .duration) }
        switch scalar.resolvedTagName {
        case .int where node.int == 0: return .zero
        case .null, .bool, .int, .float:
            if typeErrorStyle == .kubernetesSchema { throw typeMismatch(expected: .duration) }
            throw error("expected a duration such as 250ms, 5s or 1m30s, found \(foundDescription)")
        default:
            guard let value = MeshDuration(parsing: scalar.string), value.nanoseconds >= 0 else {
                throw error("expected a duration such as 250ms, 5s or 1m30s, found \(Self.quoted(scalar.string))")
            }
            return value
        }
    }

    /// An integer or a string (`targetPort: 8080` or `targetPort: http`).
    public func intOrString(intRange: ClosedRange<Int>? = nil) throws(ManifestError) -> IntOrString {
        guard case .scalar(let scalar) = node else { throw typeMismatch(expected: .string) }
        switch scalar.resolvedTagName {
        case .int: return .int(try int(in: intRange))
        case .null, .bool, .float: throw error("expected an integer or a string, found \(foundDescription)")
        default: return .string(scalar.string)
        }
    }

    /// A string that must be one of an enumeration's raw values.
    public func oneOf<Value: RawRepresentable & CaseIterable>(_ type: Value.Type, caseInsensitive: Bool = false) throws(ManifestError) -> Value where Value.RawValue == String {
        let text = try string()
        if let value = Value(rawValue: text) { return value }
        if caseInsensitive, let value = Value.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) { return value }
        throw error("expected one of \(Value.allCases.map(\.rawValue).joined(separator: ", ")), found \(Self.quoted(text))")
    }

    /// A string that must be one of `allowed`.
    public func oneOf(_ allowed: [String], caseInsensitive: Bool = false) throws(ManifestError) -> String {
        let text = try string()
        if allowed.contains(text) { return text }
        if caseInsensitive, let match = allowed.first(where: { $0.lowercased() == text.lowercased() }) { return match }
        throw error("expected one of \(allowed.joined(separator: ", ")), found \(Self.quoted(text))")
    }

    /// A string holding YAML (a scenario's `manifests: |` or `apply: |`) with the offsets that map
    /// positions inside it back to this file: pass them to `YAMLReader.documents` or
    /// `ManifestDecoder.decode`. Exact for literal (`|`) and folded (`>`) block scalars; for other
    /// scalar styles the offsets point at the scalar's start.
    public func embeddedText() throws(ManifestError) -> (text: String, lineOffset: Int, columnOffset: Int) {
        guard case .scalar(let scalar) = node, !isNull || scalar.style == .literal || scalar.style == .folded else {
            throw typeMismatch(expected: .string)
        }
        guard let mark = scalar.mark else { return (scalar.string, lineOffset, columnOffset) }
        guard scalar.style == .literal || scalar.style == .folded else {
            return (scalar.string, mark.line - 1 + lineOffset, mark.column - 1 + columnOffset)
        }
        // The content starts on the line after the indicator; libyaml strips its indentation, which
        // is that of the first non-blank content line.
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        var indentation = 0
        for line in lines.dropFirst(mark.line) where line.contains(where: { $0 != " " && $0 != "\r" }) {
            indentation = line.prefix(while: { $0 == " " }).count
            break
        }
        return (scalar.string, mark.line + lineOffset, indentation + columnOffset)
    }

    private static func describe(_ range: ClosedRange<Int>) -> String {
        if range.upperBound == Int.max { return "at least \(range.lowerBound)" }
        if range.lowerBound == Int.min { return "at most \(range.upperBound)" }
        return "between \(range.lowerBound) and \(range.upperBound)"
    }

    private static func describe(_ range: ClosedRange<Double>) -> String {
        if range.upperBound >= Double.greatestFiniteMagnitude { return "at least \(JSONValue.format(range.lowerBound))" }
        if range.lowerBound <= -Double.greatestFiniteMagnitude { return "at most \(JSONValue.format(range.upperBound))" }
        return "between \(JSONValue.format(range.lowerBound)) and \(JSONValue.format(range.upperBound))"
    }
}

private extension Node.Scalar {
    /// The tag libyaml's resolver gives a plain scalar (`80` is an int, `"80"` a string).
    var resolvedTagName: Tag.Name {
        Tag.Name(rawValue: Node.scalar(self).tag.rawValue)
    }
}
