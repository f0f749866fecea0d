import Foundation
import MeshKube
import MeshModel

/// Patches as the API server applies them: server-side apply (modelled as a deep merge that
/// creates missing objects; field ownership is not tracked), JSON merge patch (RFC 7386, also
/// used for strategic merge), and JSON patch (RFC 6902: add, remove, replace, test).
extension KubeStore {
    public mutating func apply(_ type: KubeResourceType, name: String, namespace: String?, body: JSONValue) throws(Failure) -> JSONValue {
        var object = body
        if type.namespaced, let namespace { object = Self.setMetadata(object, "namespace", .string(namespace)) }
        let key = KubeObjectKey(namespace: type.namespaced ? namespace ?? "" : "", name: name)
        guard Self.key(object, type: type).name == name else {
            throw Failure(400, "BadRequest", "the name of the object (\(Self.key(object, type: type).name)) does not match the name on the URL (\(name))")
        }
        guard let current = self.object(type, key) else { return try create(type, object) }
        var merged = Self.deepMerge(current, object)
        merged = Self.setMetadata(merged, "resourceVersion", .string(""))
        return try replace(type, merged)
    }

    public mutating func patch(_ type: KubeResourceType, name: String, namespace: String?, contentType: String, body: JSONValue) throws(Failure) -> JSONValue {
        let key = KubeObjectKey(namespace: type.namespaced ? namespace ?? "" : "", name: name)
        guard let current = self.object(type, key) else { throw Failure(404, "NotFound", "\(type.plural) \"\(name)\" not found") }
        var patched: JSONValue
        switch contentType {
        case "application/merge-patch+json", "application/strategic-merge-patch+json":
            patched = Self.mergePatch(current, body)
        case "application/json-patch+json":
            guard case .array(let operations) = body else { throw Failure(400, "BadRequest", "a JSON patch is a list of operations") }
            patched = current
            for operation in operations { patched = try Self.jsonPatch(patched, operation) }
        default:
            throw Failure(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
        }
        patched = Self.setMetadata(patched, "resourceVersion", .string(""))
        return try replace(type, patched)
    }

    /// Objects merged key by key; anything else replaced.
    static func deepMerge(_ base: JSONValue, _ overlay: JSONValue) -> JSONValue {
        guard case .object(var pairs) = base, case .object(let overlayPairs) = overlay else { return overlay }
        for (key, value) in overlayPairs {
            if let index = pairs.firstIndex(where: { $0.0 == key }) {
                pairs[index].1 = deepMerge(pairs[index].1, value)
            } else {
                pairs.append((key, value))
            }
        }
        return .object(pairs)
    }

    /// RFC 7386: null removes a key, objects merge, anything else replaces.
    static func mergePatch(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let patchPairs) = patch else { return patch }
        guard case .object(var pairs) = target else { return mergePatch(.object([]), patch) }
        for (key, value) in patchPairs {
            if value == .null {
                pairs.removeAll { $0.0 == key }
            } else if let index = pairs.firstIndex(where: { $0.0 == key }) {
                pairs[index].1 = mergePatch(pairs[index].1, value)
            } else {
                pairs.append((key, mergePatch(.object([]), value)))
            }
        }
        return .object(pairs)
    }

    /// One RFC 6902 operation.
    static func jsonPatch(_ document: JSONValue, _ operation: JSONValue) throws(Failure) -> JSONValue {
        guard let op = operation["op"]?.stringValue, let path = operation["path"]?.stringValue else {
            throw Failure(400, "BadRequest", "a JSON patch operation needs op and path")
        }
        let tokens = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
        switch op {
        case "test":
            guard value(at: tokens[...], in: document) == operation["value"] else {
                throw Failure(422, "Invalid", "the server rejected our request due to an error in our request: testing value \(path) failed")
            }
            return document
        case "add", "replace", "remove":
            guard let result = edit(document, tokens[...], op: op, value: operation["value"]) else {
                throw Failure(422, "Invalid", "the server rejected our request due to an error in our request: \(op) \(path): path not found")
            }
            return result
        default:
            throw Failure(400, "BadRequest", "unknown JSON patch op \(op)")
        }
    }

    private static func value(at tokens: ArraySlice<String>, in document: JSONValue) -> JSONValue? {
        guard let first = tokens.first else { return document }
        switch document {
        case .object: return document[first].flatMap { value(at: tokens.dropFirst(), in: $0) }
        case .array(let items):
            guard let index = Int(first), items.indices.contains(index) else { return nil }
            return value(at: tokens.dropFirst(), in: items[index])
        default: return nil
        }
    }

    private static func edit(_ document: JSONValue, _ tokens: ArraySlice<String>, op: String, value: JSONValue?) -> JSONValue? {
        guard let first = tokens.first else { return op == "remove" ? nil : value }
        let last = tokens.count == 1
        switch document {
        case .object(var pairs):
            let index = pairs.firstIndex { $0.0 == first }
            if last {
                switch op {
                case "remove":
                    guard let index else { return nil }
                    pairs.remove(at: index)
                case "replace":
                    guard let index, let value else { return nil }
                    pairs[index].1 = value
                default:
                    guard let value else { return nil }
                    if let index { pairs[index].1 = value } else { pairs.append((first, value)) }
                }
                return .object(pairs)
            }
            guard let index, let child = edit(pairs[index].1, tokens.dropFirst(), op: op, value: value) else { return nil }
            pairs[index].1 = child
            return .object(pairs)
        case .array(var items):
            if last, op == "add", first == "-", let value { return .array(items + [value]) }
            guard let index = Int(first) else { return nil }
            if last {
                switch op {
                case "remove":
                    guard items.indices.contains(index) else { return nil }
                    items.remove(at: index)
                case "replace":
                    guard items.indices.contains(index), let value else { return nil }
                    items[index] = value
                default:
                    guard index <= items.count, let value else { return nil }
                    items.insert(value, at: index)
                }
                return .array(items)
            }
            guard items.indices.contains(index), let child = edit(items[index], tokens.dropFirst(), op: op, value: value) else { return nil }
            items[index] = child
            return .array(items)
        default:
            return nil
        }
    }
}
