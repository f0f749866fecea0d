import MeshControl
import MeshModel

/// The webhook's view of the cluster built from the same `ResourceChange` stream the controller
/// reads (a manifest directory, or the Kubernetes informers): namespaces, and the MeshConfig named
/// `fsm-mesh-config` in the control plane's namespace (the guide's defaults until there is one).
public struct InjectorClusterState: InjectorClusterView, Hashable {
    public static let meshConfigName = "fsm-mesh-config"

    public let controlPlaneNamespace: String
    public private(set) var namespaces: [String: Namespace] = [:]
    public private(set) var currentMeshConfig: MeshConfig?

    public init(controlPlaneNamespace: String) {
        self.controlPlaneNamespace = controlPlaneNamespace
    }

    public mutating func apply(_ changes: [ResourceChange]) {
        for change in changes {
            switch change {
            case .upsert(.namespace(let namespace)):
                namespaces[namespace.metadata.name] = namespace
            case .upsert(.meshConfig(let config)) where isTheMeshConfig(namespace: config.metadata.namespace, name: config.metadata.name):
                currentMeshConfig = config
            case .delete(let key) where key.kind == .namespace:
                namespaces[key.name] = nil
            case .delete(let key) where key.kind == .meshConfig && isTheMeshConfig(namespace: key.namespace, name: key.name):
                currentMeshConfig = nil
            default:
                break
            }
        }
    }

    private func isTheMeshConfig(namespace: String, name: String) -> Bool {
        namespace == controlPlaneNamespace && name == Self.meshConfigName
    }

    public func namespace(named name: String) -> Namespace? { namespaces[name] }

    public func meshConfig() -> MeshConfig { currentMeshConfig ?? MeshConfig() }
}
