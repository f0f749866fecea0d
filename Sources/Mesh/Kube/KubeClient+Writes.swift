import Foundation
import MeshModel
import NIOCore
import NIOHTTP1

/// A patch in one of the three shapes the API accepts besides server-side apply.
public enum KubePatch: Sendable {
    /// RFC 7386 JSON merge patch (`application/merge-patch+json`).
    case merge(JSONValue)
    /// RFC 6902 JSON patch (`application/json-patch+json`): a list of `{op, path, value}`.
    case json([JSONValue])
    /// Kubernetes strategic merge patch (`application/strategic-merge-patch+json`, built-in kinds only).
    case strategicMerge(JSONValue)

    var contentType: String {
        switch self {
        case .merge: "application/merge-patch+json"
        case .json: "application/json-patch+json"
        case .strategicMerge: "application/strategic-merge-patch+json"
        }
    }

    var body: JSONValue {
        switch self {
        case .merge(let value), .strategicMerge(let value): value
        case .json(let operations): .array(operations)
        }
    }

    /// One JSON-patch operation: `{"op": op, "path": path, "value": value}`.
    public static func operation(_ op: String, _ path: String, _ value: JSONValue? = nil) -> JSONValue {
        .object([("op", .string(op)), ("path", .string(path))] + (value.map { [("value", $0)] } ?? []))
    }
}

/// A list of objects and the resourceVersion to watch from.
public struct KubeList: Sendable {
    public var items: [KubeObject]
    public var resourceVersion: String

    public init(items: [KubeObject], resourceVersion: String) {
        self.items = items
        self.resourceVersion = resourceVersion
    }
}

/// The write API (`fsm install`, `fsm namespace`, the webhook and the controller call it). Every
/// call is one request with the client's deadline; failures are one-line `KubeError`s
/// (`isConflict`, `isNotFound`, ... tell the usual cases apart).
extension KubeClient {
    /// The field manager of every server-side apply the mesh makes.
    public static let fieldManager = "fsm"

    /// `GET` one object; nil when it does not exist.
    public func get(_ type: KubeResourceType, namespace: String? = nil, name: String) async throws(KubeError) -> KubeObject? {
        do {
            return KubeObject(json: try await getJSON(type.objectPath(namespace: namespace, name: name)))
        } catch where error.isNotFound {
            return nil
        }
    }

    /// Every object of a collection (all namespaces when `namespace` is nil), fetched in pages of
    /// `pageSize` (`limit`/`continue`); the list's resourceVersion is the first page's.
    public func list(_ type: KubeResourceType, namespace: String? = nil, labelSelector: String? = nil, pageSize: Int = 500) async throws(KubeError) -> KubeList {
        var items: [KubeObject] = []
        var resourceVersion = ""
        var continueToken: String?
        repeat {
            var query: [(String, String)] = [("limit", String(pageSize))]
            if let labelSelector { query.append(("labelSelector", labelSelector)) }
            if let continueToken { query.append(("continue", continueToken)) }
            let path = type.collectionPath(namespace: namespace) + KubePath.query(query)
            let page = try await getJSON(path)
            guard case .array(let pageItems)? = page["items"] else {
                throw KubeError(.malformed, request: "GET \(path)", message: "expected a \(type.kind)List with items")
            }
            items.reserveCapacity(items.count + pageItems.count)
            items.append(contentsOf: pageItems.map(KubeObject.init(json:)))
            if resourceVersion.isEmpty { resourceVersion = page["metadata"]?["resourceVersion"]?.stringValue ?? "" }
            continueToken = page["metadata"]?["continue"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        } while continueToken != nil
        return KubeList(items: items, resourceVersion: resourceVersion)
    }

    /// `POST`: creates the object (409 `AlreadyExists` when it exists).
    @discardableResult
    public func create(_ type: KubeResourceType, namespace: String? = nil, object: JSONValue) async throws(KubeError) -> KubeObject {
        try await write(.POST, type.collectionPath(namespace: namespace), body: object, contentType: "application/json")
    }

    /// `PUT`: replaces the object; with `metadata.resourceVersion` set, 409 `Conflict` when someone
    /// wrote it since (optimistic concurrency, as leader election needs).
    @discardableResult
    public func replace(_ type: KubeResourceType, namespace: String? = nil, name: String, object: JSONValue) async throws(KubeError) -> KubeObject {
        try await write(.PUT, type.objectPath(namespace: namespace, name: name), body: object, contentType: "application/json")
    }

    /// Server-side apply (`PATCH`, `application/apply-patch+yaml`, fieldManager `fsm`): creates
    /// the object or sets the fields `object` names, taking them over from other managers when
    /// `force` is set (as `kubectl apply --server-side --force-conflicts` does).
    @discardableResult
    public func apply(_ type: KubeResourceType, namespace: String? = nil, name: String, object: JSONValue, force: Bool = true) async throws(KubeError) -> KubeObject {
        var full = object
        if full["apiVersion"] == nil { full = full.setting("apiVersion", to: .string(type.apiVersion)) }
        if full["kind"] == nil { full = full.setting("kind", to: .string(type.kind)) }
        let query = KubePath.query([("fieldManager", Self.fieldManager)] + (force ? [("force", "true")] : []))
        // JSON is YAML: the apply body is the object's JSON.
        return try await write(.PATCH, type.objectPath(namespace: namespace, name: name) + query, body: full, contentType: "application/apply-patch+yaml")
    }

    /// A merge, JSON or strategic-merge patch.
    @discardableResult
    public func patch(_ type: KubeResourceType, namespace: String? = nil, name: String, _ patch: KubePatch) async throws(KubeError) -> KubeObject {
        try await write(.PATCH, type.objectPath(namespace: namespace, name: name) + KubePath.query([("fieldManager", Self.fieldManager)]),
                        body: patch.body, contentType: patch.contentType)
    }

    /// `DELETE` (background propagation); false when there was nothing to delete.
    @discardableResult
    public func delete(_ type: KubeResourceType, namespace: String? = nil, name: String) async throws(KubeError) -> Bool {
        let options: JSONValue = .object([("kind", .string("DeleteOptions")), ("apiVersion", .string("v1")), ("propagationPolicy", .string("Background"))])
        do {
            _ = try await send(.DELETE, type.objectPath(namespace: namespace, name: name), body: Array(options.rendered().utf8), contentType: "application/json")
            return true
        } catch where error.isNotFound {
            return false
        }
    }

    private func write(_ method: HTTPMethod, _ path: String, body: JSONValue, contentType: String) async throws(KubeError) -> KubeObject {
        let response = try await send(method, path, body: Array(body.rendered().utf8), contentType: contentType)
        return KubeObject(json: try Self.parseJSON(response.body, request: "\(method.rawValue) \(path)"))
    }

    // MARK: Secrets

    /// A Secret's `data`, decoded; nil when the Secret does not exist. A value that is not base64
    /// is an error naming the key.
    public func secretData(namespace: String, name: String) async throws(KubeError) -> [String: [UInt8]]? {
        guard let secret = try await get(.secrets, namespace: namespace, name: name) else { return nil }
        var data: [String: [UInt8]] = [:]
        guard case .object(let pairs)? = secret.json["data"] else { return data }
        for (key, value) in pairs {
            guard let text = value.stringValue, let bytes = Data(base64Encoded: text) else {
                throw KubeError(.malformed, request: "GET secret \(namespace)/\(name)", message: "data.\(key) is not base64")
            }
            data[key] = Array(bytes)
        }
        return data
    }

    /// Creates an `Opaque` Secret (409 `AlreadyExists` when one exists: two creators agree on the first).
    @discardableResult
    public func createSecret(namespace: String, name: String, data: [String: [UInt8]], labels: [String: String] = [:]) async throws(KubeError) -> KubeObject {
        try await create(.secrets, namespace: namespace, object: Self.secretObject(namespace: namespace, name: name, data: data, labels: labels))
    }

    /// Creates or updates a Secret by server-side apply (its keys become exactly `data`'s).
    @discardableResult
    public func applySecret(namespace: String, name: String, data: [String: [UInt8]], labels: [String: String] = [:]) async throws(KubeError) -> KubeObject {
        try await apply(.secrets, namespace: namespace, name: name, object: Self.secretObject(namespace: namespace, name: name, data: data, labels: labels))
    }

    static func secretObject(namespace: String, name: String, data: [String: [UInt8]], labels: [String: String], type: String = "Opaque") -> JSONValue {
        var metadata: [(String, JSONValue)] = [("name", .string(name)), ("namespace", .string(namespace))]
        if !labels.isEmpty { metadata.append(("labels", .object(labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))) }
        return .object([
            ("apiVersion", .string("v1")), ("kind", .string("Secret")), ("metadata", .object(metadata)), ("type", .string(type)),
            ("data", .object(data.sorted { $0.key < $1.key }.map { ($0.key, .string(Data($0.value).base64EncodedString())) })),
        ])
    }

    // MARK: Webhooks

    /// Sets `clientConfig.caBundle` of every webhook of a Mutating- or ValidatingWebhookConfiguration
    /// to `caPEM` (one JSON patch, guarded by a `test` of the last webhook's name, so that a
    /// concurrent edit that removed or reordered webhooks fails with 422 instead of patching the
    /// wrong entries). Returns how many webhooks it set; a missing configuration is a 404 `KubeError`.
    @discardableResult
    public func patchWebhookCABundle(_ type: KubeResourceType, name: String, caPEM: [UInt8]) async throws(KubeError) -> Int {
        guard let configuration = try await get(type, name: name) else {
            throw KubeError(.status(code: 404, reason: "NotFound"), request: "GET \(type.objectPath(namespace: nil, name: name))",
                            message: "\(type.kind) \(name) does not exist")
        }
        guard case .array(let webhooks)? = configuration.json["webhooks"], !webhooks.isEmpty else { return 0 }
        let bundle = JSONValue.string(Data(caPEM).base64EncodedString())
        var operations = [KubePatch.operation("test", "/webhooks/\(webhooks.count - 1)/name", webhooks[webhooks.count - 1]["name"] ?? .null)]
        for index in webhooks.indices {
            operations.append(KubePatch.operation("add", "/webhooks/\(index)/clientConfig/caBundle", bundle))
        }
        try await patch(type, name: name, .json(operations))
        return webhooks.count
    }
}
