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
public struct ManifestClusterSource: ClusterSource {
    public private(set) var directory: ManifestDirectory
    public private(set) var cluster: LocalCluster

    public init(path: String, plan: AddressPlan = .loopback, meshNamespaces: Set<String> = [], meshName: String = "fsm") {
        directory = ManifestDirectory(path: path)
        cluster = LocalCluster(plan: plan, meshNamespaces: meshNamespaces, meshName: meshName)
    }

    public mutating func poll() -> ClusterSourcePoll {
        let result = directory.poll()
        guard result.changed else { return ClusterSourcePoll(newProblems: result.newErrors) }
        return ClusterSourcePoll(changes: cluster.replace(with: directory.resources), newProblems: result.newErrors)
    }

    public mutating func setPodReady(_ pod: PodKey, ready: Bool) -> [ResourceChange]? {
        cluster.setReady(pod, ready)
    }

    public var problems: [String] { directory.errors }
    public var failedReads: Int { directory.failedReads }
}
