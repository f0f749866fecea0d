import MeshModel

/// An RFC 6901 JSON pointer: `/spec/containers/0/livenessProbe`. Tokens are kept unescaped and
/// escaped (`~0` for `~`, `~1` for `/`) when rendered.
public struct JSONPointer: Hashable, Sendable, CustomStringConvertible {
    public var tokens: [String]

    public init(_ tokens: [String]) {
        self.tokens = tokens
    }

    public init(_ tokens: String...) {
        self.tokens = tokens
    }

    public func appending(_ token: String) -> JSONPointer { JSONPointer(tokens + [token]) }
    public func appending(_ index: Int) -> JSONPointer { JSONPointer(tokens + [String(index)]) }

    public var description: String {
        tokens.map { "/" + $0.replacingTilde() }.joined()
    }

    /// Parses `/a/b~1c`; nil unless it is empty or starts with `/` and every `~` escape is valid.
    public init?(parsing text: String) {
        guard !text.isEmpty else { self.init([]); return }
        guard text.hasPrefix("/") else { return nil }
        var tokens: [String] = []
        for raw in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard let token = Self.unescape(raw) else { return nil }
            tokens.append(token)
        }
        self.init(tokens)
    }

    private static func unescape(_ raw: Substring) -> String? {
        var out = ""
        var iterator = raw.makeIterator()
        while let c = iterator.next() {
            guard c == "~" else { out.append(c); continue }
            switch iterator.next() {
            case "0": out.append("~")
            case "1": out.append("/")
            default: return nil
            }
        }
        return out
    }
}

extension String {
    fileprivate func replacingTilde() -> String {
        var out = ""
        for c in self {
            switch c {
            case "~": out += "~0"
            case "/": out += "~1"
            default: out.append(c)
            }
        }
        return out
    }
}

/// One RFC 6902 operation. The injector emits `add` and `replace`; `remove` is there for
/// completeness of `apply`.
public struct JSONPatchOperation: Hashable, Sendable {
    public enum Op: String, Hashable, Sendable {
        case add, replace, remove
    }

    public var op: Op
    public var path: JSONPointer
    public var value: JSONValue?

    public init(op: Op, path: JSONPointer, value: JSONValue?) {
        self.op = op
        self.path = path
        self.value = value
    }

    public static func add(_ path: JSONPointer, _ value: JSONValue) -> JSONPatchOperation { JSONPatchOperation(op: .add, path: path, value: value) }
    public static func replace(_ path: JSONPointer, _ value: JSONValue) -> JSONPatchOperation { JSONPatchOperation(op: .replace, path: path, value: value) }
    public static func remove(_ path: JSONPointer) -> JSONPatchOperation { JSONPatchOperation(op: .remove, path: path, value: nil) }

    /// `{"op":"add","path":"/...","value":...}`.
    public var json: JSONValue {
        var pairs: [(String, JSONValue)] = [("op", .string(op.rawValue)), ("path", .string(path.description))]
        if let value { pairs.append(("value", value)) }
        return .object(pairs)
    }
}

/// A patch that cannot be applied: the operation's index and what was wrong.
public struct JSONPatchError: Error, Hashable, Sendable, CustomStringConvertible {
    public var index: Int
    public var problem: String

    public init(index: Int, problem: String) {
        self.index = index
        self.problem = problem
    }

    public var description: String { "patch operation \(index): \(problem)" }
}

/// An RFC 6902 JSON patch: the operations in order.
public struct JSONPatch: Hashable, Sendable {
    public var operations: [JSONPatchOperation]

    public init(_ operations: [JSONPatchOperation] = []) {
        self.operations = operations
    }

    /// The patch as a JSON array.
    public var json: JSONValue { .array(operations.map(\.json)) }

    /// The document with every operation applied in order (as the API server applies it).
    public func apply(to document: JSONValue) throws(JSONPatchError) -> JSONValue {
        var result = document
        for (index, operation) in operations.enumerated() {
            do throws(Failure) {
                try Self.apply(operation, to: &result, at: operation.path.tokens[...])
            } catch {
                throw JSONPatchError(index: index, problem: "\(operation.op.rawValue) \(operation.path): \(error.problem)")
            }
        }
        return result
    }

    private struct Failure: Error {
        var problem: String
    }

    private static func apply(_ operation: JSONPatchOperation, to node: inout JSONValue, at tokens: ArraySlice<String>) throws(Failure) {
        guard let token = tokens.first else {
            // The whole document.
            guard operation.op != .remove else { throw Failure(problem: "cannot remove the whole document") }
            node = operation.value ?? .null
            return
        }
        let rest = tokens.dropFirst()
        switch node {
        case .object(var pairs):
            let index = pairs.firstIndex(where: { $0.0 == token })
            if rest.isEmpty {
                try applyLast(operation, key: token, at: index, in: &pairs)
            } else {
                guard let index else { throw Failure(problem: "no member \"\(token)\"") }
                try apply(operation, to: &pairs[index].1, at: rest)
            }
            node = .object(pairs)
        case .array(var items):
            if rest.isEmpty {
                try applyLast(operation, token: token, in: &items)
            } else {
                guard let index = Int(token), items.indices.contains(index) else { throw Failure(problem: "no element \(token)") }
                try apply(operation, to: &items[index], at: rest)
            }
            node = .array(items)
        default:
            throw Failure(problem: "\"\(token)\" is inside a value that is neither an object nor an array")
        }
    }

    private static func applyLast(_ operation: JSONPatchOperation, key: String, at index: Int?, in pairs: inout [(String, JSONValue)]) throws(Failure) {
        switch (operation.op, index) {
        case (.add, let index?), (.replace, let index?): pairs[index].1 = operation.value ?? .null
        case (.add, nil): pairs.append((key, operation.value ?? .null))
        case (.remove, let index?): pairs.remove(at: index)
        case (.replace, nil), (.remove, nil): throw Failure(problem: "no member \"\(key)\"")
        }
    }

    private static func applyLast(_ operation: JSONPatchOperation, token: String, in items: inout [JSONValue]) throws(Failure) {
        if token == "-", operation.op == .add {
            items.append(operation.value ?? .null)
            return
        }
        guard let index = Int(token), index >= 0, token == String(index) else { throw Failure(problem: "\"\(token)\" is not an array index") }
        switch operation.op {
        case .add:
            guard index <= items.count else { throw Failure(problem: "index \(index) is past the end (\(items.count))") }
            items.insert(operation.value ?? .null, at: index)
        case .replace:
            guard items.indices.contains(index) else { throw Failure(problem: "no element \(index)") }
            items[index] = operation.value ?? .null
        case .remove:
            guard items.indices.contains(index) else { throw Failure(problem: "no element \(index)") }
            items.remove(at: index)
        }
    }
}
