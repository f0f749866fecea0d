import MeshModel

/// A service by namespace and name.
struct ServiceRef: Hashable, Comparable, Sendable, CustomStringConvertible {
    let namespace: String
    let name: String
    /// Hashed once: services key most of the controller's tables and dependencies.
    private let hashCode: Int

    init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
        var hasher = Hasher()
        hasher.combine(namespace)
        hasher.combine(name)
        hashCode = hasher.finalize()
    }

    static func == (lhs: ServiceRef, rhs: ServiceRef) -> Bool {
        lhs.hashCode == rhs.hashCode && lhs.namespace == rhs.namespace && lhs.name == rhs.name
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hashCode)
    }

    static func < (lhs: ServiceRef, rhs: ServiceRef) -> Bool {
        (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name)
    }

    var description: String { "\(namespace)/\(name)" }
    var fqdn: String { ServiceNames.fqdn(service: name, namespace: namespace) }
}

extension ServiceNames {
    /// Reads a service name in any of its forms (`svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster`,
    /// `svc.ns.svc.cluster.local`); a bare name is in `namespace`. Nil when the text is no such form.
    static func parseService(_ text: String, defaultNamespace namespace: String) -> ServiceRef? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let name = parts.first, !name.isEmpty, !parts.contains(where: \.isEmpty) else { return nil }
        switch parts.count {
        case 1: return ServiceRef(namespace: namespace, name: name)
        case 2...5:
            let suffix = Array(parts.dropFirst(2))
            guard suffix == Array(["svc", "cluster", "local"].prefix(suffix.count)) else { return nil }
            return ServiceRef(namespace: parts[1], name: name)
        default: return nil
        }
    }
}
