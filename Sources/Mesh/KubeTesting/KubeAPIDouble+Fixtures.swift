import MeshKube
import MeshModel
import NIOCore

/// A fixture that is not a list of known objects.
public struct KubeFixtureError: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}

extension KubeAPIDouble {
    /// Loads a `kubectl get ... -o json` List (full objects with kind and apiVersion) into the store,
    /// each object an event as if it had just been created.
    public func load(list: JSONValue) async throws {
        guard case .array(let items)? = list["items"] else { throw KubeFixtureError(description: "expected a List with items") }
        var byType: [(KubeResourceType, JSONValue)] = []
        for item in items {
            guard let apiVersion = item["apiVersion"]?.stringValue, let kind = item["kind"]?.stringValue,
                  let type = types.values.first(where: { $0.apiVersion == apiVersion && $0.kind == kind }) else {
                throw KubeFixtureError(description: "unknown object \(item["apiVersion"]?.stringValue ?? "?") \(item["kind"]?.stringValue ?? "?")")
            }
            byType.append((type, item))
        }
        try await loop.submit {
            for (type, object) in byType { self.store.put(type, object) }
            self.publish()
        }.get()
    }

    /// Loads a List from JSON text.
    public func load(listText: String) async throws {
        try await load(list: JSONValue(parsing: listText))
    }
}
