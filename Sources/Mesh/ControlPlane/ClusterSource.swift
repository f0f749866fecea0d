import MeshControl
import MeshModel

/// Where the controller's resources come from. The controller polls it on its event loop; the
/// manifest directory is the embedded source, a Kubernetes watch can sit behind the same protocol.
public protocol ClusterSource: Sendable {
    /// The changes since the last poll (the first poll returns the whole cluster) and the
    /// problems found by this poll.
    mutating func poll() -> ClusterSourcePoll
    /// The problems in force (for `/v1/status`), e.g. `file:line:column: ...` of bad manifests.
    var problems: [String] { get }
    /// Reads that failed since the start.
    var failedReads: Int { get }
    /// A pod's readiness as the kubelet's role reports it (`PUT /v1/pods/<ns>/<pod>/status`): the
    /// changes for the controller (none when nothing changed), or nil when the source has no such
    /// pod or keeps no pod status (a Kubernetes API server holds status itself).
    mutating func setPodReady(_ pod: PodKey, ready: Bool) -> [ResourceChange]?
    /// Whether the whole cluster has been read once (`/health/ready`); a polled source is synced
    /// after its first poll.
    var isSynced: Bool { get }
    /// A source that learns of changes by itself (a Kubernetes watch) calls `notify` whenever
    /// changes are waiting, so that the controller polls at once instead of at its next tick.
    /// Called once, before the first poll.
    mutating func onChanges(_ notify: @escaping @Sendable () -> Void)
}

extension ClusterSource {
    /// Sources that keep no pod status refuse the report.
    public mutating func setPodReady(_ pod: PodKey, ready: Bool) -> [ResourceChange]? { nil }
    public var isSynced: Bool { true }
    public mutating func onChanges(_ notify: @escaping @Sendable () -> Void) {}
}

public struct ClusterSourcePoll: Sendable {
    public var changes: [ResourceChange]
    public var newProblems: [String]

    public init(changes: [ResourceChange] = [], newProblems: [String] = []) {
        self.changes = changes
        self.newProblems = newProblems
    }
}

/// A manifest directory run as a cluster on one machine: `ManifestDirectory` reads the files,
/// `LocalCluster` stamps out pods, assigns addresses and turns each re-read into differences.
///
/// With `admittedPods`, a second directory holds pod objects as admission left them (`fsm up
/// --pods netns` writes what the injection webhook made of each pod there): each replaces the pod
/// of its name that the manifests' workloads stamp out, as the API server holds the admitted pod,
/// not the template. Anything there but pods is left out and reported.
public struct ManifestClusterSource: ClusterSource {
    public private(set) var directory: ManifestDirectory
    public private(set) var admitted: ManifestDirectory?
    public private(set) var cluster: LocalCluster

    public init(path: String, admittedPods: String? = nil, plan: AddressPlan = .loopback, meshNamespaces: Set<String> = [], meshName: String = "fsm") {
        directory = ManifestDirectory(path: path)
        admitted = admittedPods.map { ManifestDirectory(path: $0) }
        cluster = LocalCluster(plan: plan, meshNamespaces: meshNamespaces, meshName: meshName)
    }

    public mutating func poll() -> ClusterSourcePoll {
        let result = directory.poll()
        let admittedResult = admitted?.poll()
        guard result.changed || admittedResult?.changed == true else {
            return ClusterSourcePoll(newProblems: result.newErrors + (admittedResult?.newErrors ?? []))
        }
        // Later resources win in `LocalCluster`: an admitted pod replaces the stamped-out one.
        let pods = (admitted?.resources ?? []).filter { $0.kind == .pod }
        return ClusterSourcePoll(changes: cluster.replace(with: directory.resources + pods),
                                 newProblems: result.newErrors + (admittedResult?.newErrors ?? []) + (admittedResult?.changed == true ? notPods : []))
    }

    public mutating func setPodReady(_ pod: PodKey, ready: Bool) -> [ResourceChange]? {
        cluster.setReady(pod, ready)
    }

    /// What the admitted-pods directory holds besides pods, one line each.
    private var notPods: [String] {
        guard let admitted else { return [] }
        return admitted.resources.filter { $0.kind != .pod }.map { resource in
            let name = resource.metadata.namespace.isEmpty ? resource.metadata.name : "\(resource.metadata.namespace)/\(resource.metadata.name)"
            return "\(admitted.path): \(resource.kind.rawValue) \(name) left out: this directory holds admitted pods only"
        }
    }

    public var problems: [String] { directory.errors + (admitted?.errors ?? []) + notPods }
    public var failedReads: Int { directory.failedReads + (admitted?.failedReads ?? 0) }
}
