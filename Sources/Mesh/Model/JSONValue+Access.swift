/// Typed reads of a JSON value for code that walks Kubernetes objects (admission, pods run on one
/// machine): nil when the value is of another kind.
extension JSONValue {
    /// The string members of an object (labels, annotations); nil when this is no such object.
    public var stringMap: [String: String]? {
        guard case .object(let pairs) = self else { return nil }
        var result: [String: String] = [:]
        for (key, value) in pairs {
            guard case .string(let text) = value else { return nil }
            result[key] = text
        }
        return result
    }

    public var arrayItems: [JSONValue]? {
        guard case .array(let items) = self else { return nil }
        return items
    }

    public var stringValue: String? {
        guard case .string(let text) = self else { return nil }
        return text
    }

    /// A whole number (`80`, or `80.0` as some writers print it).
    public var intValue: Int? {
        switch self {
        case .int(let value): Int(exactly: value)
        case .double(let value): Int(exactly: value)
        default: nil
        }
    }

    public var boolValue: Bool? {
        guard case .bool(let value) = self else { return nil }
        return value
    }

    /// An object's keys in order; empty for anything else.
    public var objectKeys: [String] {
        guard case .object(let pairs) = self else { return [] }
        return pairs.map(\.0)
    }

    /// This value with the member at `path` set (objects made where missing).
    public func setting(_ path: [String], _ value: JSONValue) -> JSONValue {
        guard let first = path.first else { return value }
        let rest = Array(path.dropFirst())
        guard case .object(var pairs) = self else { return .object([(first, JSONValue.object([]).setting(rest, value))]) }
        if let index = pairs.firstIndex(where: { $0.0 == first }) {
            pairs[index].1 = pairs[index].1.setting(rest, value)
        } else {
            pairs.append((first, JSONValue.object([]).setting(rest, value)))
        }
        return .object(pairs)
    }

    /// The object's value for `key` replaced (appended when missing); other values unchanged.
    public func setting(_ key: String, to value: JSONValue) -> JSONValue {
        guard case .object(var pairs) = self else { return self }
        if let index = pairs.firstIndex(where: { $0.0 == key }) {
            pairs[index].1 = value
        } else {
            pairs.append((key, value))
        }
        return .object(pairs)
    }

    /// The object without `key`.
    public func removing(_ key: String) -> JSONValue {
        guard case .object(let pairs) = self else { return self }
        return .object(pairs.filter { $0.0 != key })
    }
}
