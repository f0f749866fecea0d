import Foundation
import MeshKube
import MeshModel

/// The API-server double's objects: one resourceVersion counter for everything (as etcd's
/// revision), an event log for watches, compaction (watching from a compacted version is `410
/// Gone`), label selectors, and paginated lists. A value type; `KubeAPIDouble` serves it.
public struct KubeStore: Sendable {
    public struct Event: Sendable {
        public var revision: Int
        public var type: KubeResourceType
        /// ADDED, MODIFIED or DELETED.
        public var kind: String
        public var object: JSONValue
        /// The version before a MODIFIED, so that a selector watch can turn it into ADDED or DELETED.
        public var previous: JSONValue?
    }

    /// A failed request: the HTTP status and the API's Status reason and message.
    public struct Failure: Error, Equatable, Sendable {
        public var code: Int
        public var reason: String
        public var message: String

        public init(_ code: Int, _ reason: String, _ message: String) {
            self.code = code
            self.reason = reason
            self.message = message
        }
    }

    public private(set) var revision = 1
    /// Events at or below this revision are forgotten.
    public private(set) var compactedThrough = 0
    private var objects: [KubeResourceType: [KubeObjectKey: JSONValue]] = [:]
    private var sortedKeys: [KubeResourceType: [KubeObjectKey]] = [:]
    public private(set) var events: [Event] = []
    private var uidCounter = 0

    public init() {}

    public func count(_ type: KubeResourceType) -> Int { objects[type]?.count ?? 0 }

    public func object(_ type: KubeResourceType, _ key: KubeObjectKey) -> JSONValue? { objects[type]?[key] }

    /// Forgets the event log up to now: watches from an older version get `410 Gone`.
    public mutating func compact() {
        compactedThrough = revision
        events.removeAll()
    }

    // MARK: Reads

    /// A page of a list: items sorted by namespace and name, at most `limit` (0: all), from the
    /// position a `continue` token names.
    public func list(_ type: KubeResourceType, namespace: String?, selector: LabelSelector, limit: Int, continueToken: String?) throws(Failure) -> (items: [JSONValue], resourceVersion: String, continueToken: String?) {
        var start = 0
        var listRevision = revision
        if let continueToken, !continueToken.isEmpty {
            guard let decoded = Self.decodeContinue(continueToken) else { throw Failure(400, "BadRequest", "invalid continue token") }
            guard decoded.revision > compactedThrough || decoded.revision == revision else {
                throw Failure(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
            }
            (listRevision, start) = (decoded.revision, decoded.offset)
        }
        let keys = sortedKeys[type] ?? []
        let table = objects[type] ?? [:]
        var items: [JSONValue] = []
        var index = start
        while index < keys.count {
            let key = keys[index]
            index += 1
            if let namespace, !namespace.isEmpty, key.namespace != namespace { continue }
            guard let object = table[key], selector.matches(object) else { continue }
            items.append(Self.listItem(object))
            if limit > 0, items.count == limit { break }
        }
        let more = index < keys.count && limit > 0
        return (items, String(listRevision), more ? Self.encodeContinue(revision: listRevision, offset: index) : nil)
    }

    /// Events after `revision` for a watch, or 410 when they were compacted away.
    public func events(after revision: Int, type: KubeResourceType, namespace: String?, selector: LabelSelector) throws(Failure) -> [(String, JSONValue)] {
        guard revision >= compactedThrough else {
            throw Failure(410, "Expired", "too old resource version: \(revision) (\(compactedThrough))")
        }
        return events[firstEvent(after: revision)...].compactMap { Self.visible($0, type: type, namespace: namespace, selector: selector) }
    }

    /// The index of the first event after `revision` (events are kept in revision order).
    public func firstEvent(after revision: Int) -> Int {
        var low = 0, high = events.count
        while low < high {
            let middle = (low + high) / 2
            if events[middle].revision <= revision { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// How an event looks through a watch's filter: a MODIFIED object that starts or stops matching
    /// the selector is ADDED or DELETED, as the API server's watch cache reports it.
    public static func visible(_ event: Event, type: KubeResourceType, namespace: String?, selector: LabelSelector) -> (String, JSONValue)? {
        guard event.type == type else { return nil }
        if let namespace, !namespace.isEmpty, event.object["metadata"]?["namespace"]?.stringValue != namespace { return nil }
        let now = selector.matches(event.object)
        let before = event.previous.map(selector.matches) ?? false
        switch event.kind {
        case "MODIFIED" where now && !before: return ("ADDED", event.object)
        case "MODIFIED" where !now && before: return ("DELETED", event.object)
        case _ where now: return (event.kind, event.object)
        default: return nil
        }
    }

    // MARK: Writes

    /// Creates an object (409 when it exists); metadata gets uid, resourceVersion and creationTimestamp.
    @discardableResult
    public mutating func create(_ type: KubeResourceType, _ object: JSONValue, namespace: String? = nil) throws(Failure) -> JSONValue {
        var object = object
        if let namespace, type.namespaced { object = Self.setMetadata(object, "namespace", .string(namespace)) }
        let key = Self.key(object, type: type)
        guard !key.name.isEmpty else { throw Failure(422, "Invalid", "metadata.name: Required value: name is required") }
        if objects[type]?[key] != nil {
            throw Failure(409, "AlreadyExists", "\(type.plural) \"\(key.name)\" already exists")
        }
        uidCounter += 1
        object = Self.setMetadata(object, "uid", .string(String(format: "00000000-0000-4000-8000-%012d", uidCounter)))
        if object["metadata"]?["creationTimestamp"] == nil {
            object = Self.setMetadata(object, "creationTimestamp", .string("2026-01-01T00:00:00Z"))
        }
        return commit(type, key, object, kind: "ADDED", previous: nil)
    }

    /// Replaces an object; a `metadata.resourceVersion` that is not the current one is a 409.
    @discardableResult
    public mutating func replace(_ type: KubeResourceType, _ object: JSONValue, namespace: String? = nil) throws(Failure) -> JSONValue {
        var object = object
        if let namespace, type.namespaced { object = Self.setMetadata(object, "namespace", .string(namespace)) }
        let key = Self.key(object, type: type)
        guard let current = objects[type]?[key] else { throw Failure(404, "NotFound", "\(type.plural) \"\(key.name)\" not found") }
        if let expected = object["metadata"]?["resourceVersion"]?.stringValue, !expected.isEmpty,
           expected != current["metadata"]?["resourceVersion"]?.stringValue {
            throw Failure(409, "Conflict", "Operation cannot be fulfilled on \(type.description) \"\(key.name)\": the object has been modified; please apply your changes to the latest version and try again")
        }
        for field in ["uid", "creationTimestamp"] {
            if let value = current["metadata"]?[field] { object = Self.setMetadata(object, field, value) }
        }
        return commit(type, key, object, kind: "MODIFIED", previous: current)
    }

    /// Creates or replaces without a version check (how fixtures and tests change the cluster).
    @discardableResult
    public mutating func put(_ type: KubeResourceType, _ object: JSONValue) -> JSONValue {
        var object = object.setting("metadata", to: (object["metadata"] ?? .object([])).removing("resourceVersion"))
        let key = Self.key(object, type: type)
        if objects[type]?[key] == nil {
            do { return try create(type, object) } catch { return object }
        }
        object = Self.setMetadata(object, "resourceVersion", .string(""))
        do { return try replace(type, object) } catch { return object }
    }

    /// Deletes an object (404 when missing).
    @discardableResult
    public mutating func delete(_ type: KubeResourceType, _ key: KubeObjectKey) throws(Failure) -> JSONValue {
        guard let current = objects[type]?[key] else { throw Failure(404, "NotFound", "\(type.plural) \"\(key.name)\" not found") }
        objects[type]?[key] = nil
        if let keys = sortedKeys[type] {
            let index = Self.insertionIndex(of: key, in: keys)
            if index < keys.count, keys[index] == key { sortedKeys[type]?.remove(at: index) }
        }
        revision += 1
        let gone = Self.setMetadata(current, "resourceVersion", .string(String(revision)))
        events.append(Event(revision: revision, type: type, kind: "DELETED", object: gone, previous: nil))
        return gone
    }

    private mutating func commit(_ type: KubeResourceType, _ key: KubeObjectKey, _ object: JSONValue, kind: String, previous: JSONValue?) -> JSONValue {
        revision += 1
        let stored = Self.setMetadata(object, "resourceVersion", .string(String(revision)))
        if objects[type]?[key] == nil {
            var keys = sortedKeys[type] ?? []
            keys.insert(key, at: Self.insertionIndex(of: key, in: keys))
            sortedKeys[type] = keys
        }
        objects[type, default: [:]][key] = stored
        events.append(Event(revision: revision, type: type, kind: kind, object: stored, previous: previous))
        return stored
    }

    // MARK: Helpers

    public static func key(_ object: JSONValue, type: KubeResourceType) -> KubeObjectKey {
        let metadata = object["metadata"]
        return KubeObjectKey(namespace: type.namespaced ? metadata?["namespace"]?.stringValue ?? "" : "", name: metadata?["name"]?.stringValue ?? "")
    }

    static func setMetadata(_ object: JSONValue, _ field: String, _ value: JSONValue) -> JSONValue {
        object.setting("metadata", to: (object["metadata"] ?? .object([])).setting(field, to: value))
    }

    /// Built-in kinds' list items carry no kind or apiVersion (custom resources' do).
    static func listItem(_ object: JSONValue) -> JSONValue {
        guard let apiVersion = object["apiVersion"]?.stringValue else { return object }
        let group = apiVersion.split(separator: "/").dropLast().first.map(String.init) ?? ""
        guard !group.contains(".") || group.hasSuffix("k8s.io") else { return object }
        return object.removing("kind").removing("apiVersion")
    }

    /// Where `key` goes in sorted `keys` (binary search).
    static func insertionIndex(of key: KubeObjectKey, in keys: [KubeObjectKey]) -> Int {
        var low = 0, high = keys.count
        while low < high {
            let middle = (low + high) / 2
            if keys[middle] < key { low = middle + 1 } else { high = middle }
        }
        return low
    }

    static func encodeContinue(revision: Int, offset: Int) -> String {
        Data("\(revision):\(offset)".utf8).base64EncodedString()
    }

    static func decodeContinue(_ token: String) -> (revision: Int, offset: Int)? {
        guard let data = Data(base64Encoded: token) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: ":")
        guard parts.count == 2, let revision = Int(parts[0]), let offset = Int(parts[1]) else { return nil }
        return (revision, offset)
    }
}

/// An equality label selector: `a=b,c!=d,e` (the forms the mesh uses).
public struct LabelSelector: Sendable, Equatable {
    public enum Requirement: Sendable, Equatable {
        case equals(String, String)
        case notEquals(String, String)
        case exists(String)
    }

    public var requirements: [Requirement]

    public init(_ text: String?) {
        requirements = (text ?? "").split(separator: ",").map { part in
            let text = String(part).trimmingCharacters(in: .whitespaces)
            if let range = text.range(of: "!=") {
                return .notEquals(String(text[..<range.lowerBound]), String(text[range.upperBound...]))
            }
            if let range = text.range(of: "==") ?? text.range(of: "=") {
                return .equals(String(text[..<range.lowerBound]), String(text[range.upperBound...]))
            }
            return .exists(text)
        }
    }

    public func matches(_ object: JSONValue) -> Bool {
        guard !requirements.isEmpty else { return true }
        let labels = object["metadata"]?["labels"]
        return requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): labels?[key]?.stringValue == value
            case .notEquals(let key, let value): labels?[key]?.stringValue != value
            case .exists(let key): labels?[key] != nil
            }
        }
    }
}
