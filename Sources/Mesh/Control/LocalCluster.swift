import MeshModel

/// A cluster whose whole desired state is re-read at once (a directory of manifests): it expands
/// the resources as a cluster would (namespaces created and enrolled, workloads stamped out into
/// pods, addresses assigned by `ClusterConventions` and an `AddressPlan`) and turns each new
/// desired state into the changes since the last one, for `MeshController.apply`.
///
/// Addresses are stable: a pod or service keeps its address as long as this value lives, even
/// across deletion and re-creation; the n-th name ever seen gets the n-th address.
public struct LocalCluster: Sendable {
    public let plan: AddressPlan
    public let meshNamespaces: Set<String>
    public let meshName: String

    /// The expanded state last returned as changes.
    public private(set) var resources: [ResourceKey: Resource] = [:]
    private var podAddresses: [PodKey: String] = [:]
    /// Readiness reported for pods (the kubelet's part: `fsm supervise` probes them), stamped on
    /// every expansion as the pod's `Ready` condition so that a re-read keeps it.
    public private(set) var readiness: [PodKey: Bool] = [:]
    private var serviceAddresses: [ResourceKey: String] = [:]
    private var podsCreated = 0
    private var servicesCreated = 0

    public init(plan: AddressPlan = .loopback, meshNamespaces: Set<String> = [], meshName: String = "fsm") {
        self.plan = plan
        self.meshNamespaces = meshNamespaces
        self.meshName = meshName
    }

    /// Every pod, sorted by namespace and name.
    public var pods: [Pod] {
        resources.values.compactMap { if case .pod(let pod) = $0 { pod } else { nil } }
            .sorted { ($0.metadata.namespace, $0.metadata.name) < ($1.metadata.namespace, $1.metadata.name) }
    }

    public func pod(_ key: PodKey) -> Pod? {
        if case .pod(let pod)? = resources[ResourceKey(kind: .pod, namespace: key.namespace, name: key.name)] { return pod }
        return nil
    }

    /// Replaces the desired state with `declared` (in declaration order; a later resource with the
    /// same key wins) and returns the differences: deletions of what is gone, then upserts of what
    /// is new or changed, namespaces and identities before what refers to them.
    public mutating func replace(with declared: [Resource]) -> [ResourceChange] {
        let desired = expand(declared)
        var deletes: [ResourceKey] = []
        for key in resources.keys where desired[key] == nil { deletes.append(key) }
        var upserts: [Resource] = []
        for (key, resource) in desired where resources[key] != resource { upserts.append(resource) }
        resources = desired
        // A pod that is gone forgets its readiness: one created again under its name starts afresh.
        for key in deletes where key.kind == .pod { readiness[PodKey(namespace: key.namespace, name: key.name)] = nil }
        return LocalCluster.ordered(deletes: deletes, upserts: upserts)
    }

    /// Changes in the order the controller applies them best: deletions first, what others refer
    /// to last, then upserts, what others refer to first (MeshConfig, namespaces, identities,
    /// services, workloads, pods, policies); by key within a kind. Any source of changes uses it, so
    /// that the same cluster gives the same creation order whoever reads it.
    public static func ordered(deletes: [ResourceKey], upserts: [Resource]) -> [ResourceChange] {
        let sortedDeletes = deletes.sorted { (rank($1.kind), $1) < (rank($0.kind), $0) }
        let sortedUpserts = upserts.sorted { (rank($0.kind), $0.key) < (rank($1.kind), $1.key) }
        return sortedDeletes.map(ResourceChange.delete) + sortedUpserts.map(ResourceChange.upsert)
    }

    /// Records a pod's readiness (the kubelet's status report) and returns the change for the
    /// controller: the pod with its new `Ready` condition, none when nothing changed; nil when no
    /// such pod exists (its report is refused).
    public mutating func setReady(_ key: PodKey, _ ready: Bool) -> [ResourceChange]? {
        let resourceKey = ResourceKey(kind: .pod, namespace: key.namespace, name: key.name)
        guard case .pod(var pod)? = resources[resourceKey] else { return nil }
        readiness[key] = ready
        guard pod.isReady != ready else { return [] }
        pod.setReady(ready)
        resources[resourceKey] = .pod(pod)
        return [.upsert(.pod(pod))]
    }

    /// Order of application: what others refer to first.
    private static func rank(_ kind: ResourceKind) -> Int {
        switch kind {
        case .meshConfig: 0
        case .namespace: 1
        case .serviceAccount: 2
        case .service: 3
        case .endpoints: 4
        case .deployment, .statefulSet: 5
        case .pod: 6
        default: 7
        }
    }

    /// A pod as declared, with its address and its reported readiness.
    private mutating func place(_ pod: Pod) -> Resource {
        var pod = pod
        let key = PodKey(namespace: pod.metadata.namespace, name: pod.metadata.name)
        let address = podAddress(key)
        if pod.podIP == nil { pod.podIP = address }
        if let ready = readiness[key] { pod.setReady(ready) }
        return .pod(pod)
    }

    private mutating func expand(_ declared: [Resource]) -> [ResourceKey: Resource] {
        var desired: [ResourceKey: Resource] = [:]
        var declaredNamespaces = Set<String>()
        for case .namespace(let ns) in declared { declaredNamespaces.insert(ns.metadata.name) }
        func ensureNamespace(_ name: String) {
            guard !name.isEmpty, !declaredNamespaces.contains(name) else { return }
            let key = ResourceKey(kind: .namespace, namespace: "", name: name)
            if desired[key] == nil {
                let ns = ClusterConventions.enrolled(Namespace(metadata: ObjectMeta(name: name)), meshNamespaces: meshNamespaces, meshName: meshName)
                desired[key] = .namespace(ns)
            }
        }
        for name in meshNamespaces.sorted() { ensureNamespace(name) }
        for resource in declared {
            if resource.kind != .namespace && resource.kind != .meshConfig { ensureNamespace(resource.metadata.namespace) }
            switch resource {
            case .namespace(let ns):
                desired[resource.key] = .namespace(ClusterConventions.enrolled(ns, meshNamespaces: meshNamespaces, meshName: meshName))
            case .service(var service):
                let address = serviceAddress(resource.key)
                if service.clusterIP == nil { service.clusterIP = address }
                desired[resource.key] = .service(service)
            case .workload(let workload):
                desired[resource.key] = resource
                for pod in ClusterConventions.pods(of: workload) {
                    desired[.init(kind: .pod, namespace: pod.metadata.namespace, name: pod.metadata.name)] = place(pod)
                }
            case .pod(let pod):
                desired[resource.key] = place(pod)
            default:
                desired[resource.key] = resource
            }
        }
        return desired
    }

    /// Every pod name takes a number on first sight (even one that brings its own IP), as in the simulator.
    private mutating func podAddress(_ key: PodKey) -> String {
        if let known = podAddresses[key] { return known }
        let address = AddressPlan.format(plan.podAddress(podsCreated))
        podsCreated += 1
        podAddresses[key] = address
        return address
    }

    private mutating func serviceAddress(_ key: ResourceKey) -> String {
        if let known = serviceAddresses[key] { return known }
        let address = AddressPlan.format(plan.serviceAddress(servicesCreated))
        servicesCreated += 1
        serviceAddresses[key] = address
        return address
    }
}
