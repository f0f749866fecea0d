import Logging
import MeshControl
import MeshInjector
import MeshKube
import MeshModel
import NIOConcurrencyHelpers

/// What `fsm injector --kubernetes` watches: every Namespace (the injection rule reads their
/// labels and annotations, F1-047) and the MeshConfigs of the control plane's namespace (image,
/// exclusion lists, resources), fed into the `SharedInjectorCluster` the webhook reads.
public final class InjectorInformers: Sendable {
    public let cluster: SharedInjectorCluster
    private let controlPlaneNamespace: String
    private let synced = NIOLockedValueBox(Set<KubeResourceType>())
    private let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])

    public static let watched: [KubeResourceType] = [.namespaces, .meshConfigs]

    public init(cluster: SharedInjectorCluster, controlPlaneNamespace: String) {
        self.cluster = cluster
        self.controlPlaneNamespace = controlPlaneNamespace
    }

    /// Starts the informers; `stop()` ends them.
    public func start(client: KubeClient, settings: Informer.Settings = Informer.Settings(), logger: Logger) {
        let started = Self.watched.map { type in
            let informer = Informer(type: type, namespace: type == .meshConfigs ? controlPlaneNamespace : nil, client: client,
                                    settings: settings, logger: logger) { [self] type, effects in receive(type, effects) }
            return Task { await informer.run(using: SystemRandomNumberGenerator()) }
        }
        tasks.withLockedValue { $0 += started }
    }

    /// Both kinds were listed once.
    public var isSynced: Bool { synced.withLockedValue { $0.isSuperset(of: Self.watched) } }

    public func stop() async {
        let running = tasks.withLockedValue { tasks in
            defer { tasks.removeAll() }
            return tasks
        }
        for task in running { task.cancel() }
        for task in running { await task.value }
    }

    func receive(_ type: KubeResourceType, _ effects: [ListWatch.Effect]) {
        for effect in effects {
            switch effect {
            case .changes(let changes): cluster.apply(changes.compactMap { Self.change($0, type: type) })
            case .synced: synced.withLockedValue { _ = $0.insert(type) }
            default: break
            }
        }
    }

    static func change(_ change: InformerChange, type: KubeResourceType) -> ResourceChange? {
        switch change {
        case .upsert(let resource): return .upsert(resource)
        case .delete(let key):
            guard let kind = ResourceKind(rawValue: type.kind) else { return nil }
            return .delete(ResourceKey(kind: kind, namespace: type.namespaced ? key.namespace : "", name: key.name))
        }
    }
}
