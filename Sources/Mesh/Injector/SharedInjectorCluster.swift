import MeshControl
import MeshInject
import MeshModel
import NIOConcurrencyHelpers

/// `InjectorClusterState` shared between the thread that feeds it (a `ClusterSource` poll, the
/// informers) and the webhook's event loop, which reads it for each review.
public final class SharedInjectorCluster: InjectorClusterView, @unchecked Sendable {
    private let state: NIOLockedValueBox<InjectorClusterState>

    public init(controlPlaneNamespace: String) {
        state = NIOLockedValueBox(InjectorClusterState(controlPlaneNamespace: controlPlaneNamespace))
    }

    public func apply(_ changes: [ResourceChange]) {
        guard !changes.isEmpty else { return }
        state.withLockedValue { $0.apply(changes) }
    }

    public func namespace(named name: String) -> Namespace? {
        state.withLockedValue { $0.namespace(named: name) }
    }

    public func meshConfig() -> MeshConfig {
        state.withLockedValue { $0.meshConfig() }
    }
}
