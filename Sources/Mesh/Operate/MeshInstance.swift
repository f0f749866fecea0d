import MeshKube
import MeshModel

/// A mesh installed in the cluster, as its controller's Deployment says (the labels `fsm install`
/// puts on it): `app=fsm-controller`, `meshName`, `app.kubernetes.io/version`.
public struct MeshInstance: Hashable, Sendable {
    public var name: String
    public var namespace: String
    public var version: String

    public init(name: String, namespace: String, version: String) {
        self.name = name
        self.namespace = namespace
        self.version = version
    }

    /// The label selector of controller Deployments.
    public static let controllerSelector = "app=fsm-controller"

    /// The mesh a controller Deployment belongs to.
    public init(deployment: KubeObject) {
        let labels = deployment.metadata?["labels"]
        self.init(name: labels?["meshName"]?.stringValue ?? "", namespace: deployment.namespace,
                  version: labels?["app.kubernetes.io/version"]?.stringValue ?? "unknown")
    }

    /// Every mesh in the cluster (all namespaces, or one), sorted by namespace and name.
    public static func list(client: KubeClient, namespace: String? = nil) async throws(KubeError) -> [MeshInstance] {
        try await client.list(.deployments, namespace: namespace, labelSelector: controllerSelector).items.map(MeshInstance.init(deployment:))
            .sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }
}
