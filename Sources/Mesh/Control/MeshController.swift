import MeshModel

/// One change to the cluster the controller watches.
public enum ResourceChange: Hashable, Sendable {
    case upsert(Resource)
    case delete(ResourceKey)
}

/// Identifies a pod: `namespace/name`.
public struct PodKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    public static func < (lhs: PodKey, rhs: PodKey) -> Bool {
        (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name)
    }

    public var description: String { "\(namespace)/\(name)" }
}

/// What one `apply` changed.
public struct ControllerUpdate: Sendable {
    /// Meshed pods whose config version changed (including newly meshed pods), sorted.
    public var changed: [PodKey]
    /// Pods that were meshed before and are not any more (deleted or no longer injected), sorted.
    public var removed: [PodKey]
    /// Proxy configs actually computed by this apply.
    public var recomputed: Int

    public init(changed: [PodKey] = [], removed: [PodKey] = [], recomputed: Int = 0) {
        self.changed = changed
        self.removed = removed
        self.recomputed = recomputed
    }
}

/// The pure mesh controller: cluster resources in, one `ProxyConfig` per meshed pod out.
public struct MeshController: Sendable {
    public let meshName: String
    public let controlPlaneNamespace: String
    public private(set) var meshConfig: MeshConfig
    /// Problems found in the inputs (invalid splits, ...), sorted.
    public private(set) var diagnostics: [String] = []

    private var resources: [ResourceKey: Resource] = [:]
    private var configs: [PodKey: ProxyConfig] = [:]

    public init(meshConfig: MeshConfig = MeshConfig(), meshName: String = "fsm", controlPlaneNamespace: String = "fsm-system") {
        self.meshConfig = meshConfig
        self.meshName = meshName
        self.controlPlaneNamespace = controlPlaneNamespace
    }

    public mutating func apply(_ changes: [ResourceChange]) -> ControllerUpdate {
        for change in changes {
            switch change {
            case .upsert(let resource):
                if case .meshConfig(let config) = resource { meshConfig = config }
                resources[resource.key] = resource
            case .delete(let key):
                resources[key] = nil
            }
        }
        var next: [PodKey: ProxyConfig] = [:]
        for case .pod(let pod) in resources.values {
            let key = PodKey(namespace: pod.metadata.namespace, name: pod.metadata.name)
            guard isInjected(pod) else { continue }
            next[key] = ProxyConfig(serviceIdentity: ServiceNames.identity(serviceAccount: pod.spec.serviceAccountName, namespace: pod.metadata.namespace))
        }
        let changed = next.filter { configs[$0.key] != $0.value }.map(\.key).sorted()
        let removed = configs.keys.filter { next[$0] == nil }.sorted()
        let count = next.count
        configs = next
        return ControllerUpdate(changed: changed, removed: removed, recomputed: count)
    }

    public func config(for pod: PodKey) -> ProxyConfig? { configs[pod] }

    public var meshedPods: [PodKey] { configs.keys.sorted() }

    public func isMeshed(_ pod: PodKey) -> Bool { configs[pod] != nil }

    private func isInjected(_ pod: Pod) -> Bool {
        guard !pod.spec.hostNetwork,
              case .namespace(let ns)? = resources[ResourceKey(kind: .namespace, namespace: "", name: pod.metadata.namespace)],
              ns.metadata.labels["flomesh.io/monitored-by"] == meshName,
              ns.metadata.labels["name"] != controlPlaneNamespace
        else { return false }
        let podSetting = pod.metadata.annotations["flomesh.io/sidecar-injection"]
        if podSetting == "enabled" { return true }
        if podSetting == "disabled" { return false }
        return ns.metadata.annotations["flomesh.io/sidecar-injection"] == "enabled"
    }
}
