import MeshInstall
import MeshKube
import MeshModel

/// `fsm uninstall mesh` against a cluster (F1-026..F1-028): deletes what `fsm install` applied for
/// the mesh in reverse order (webhook configurations, Deployments, Services, the MeshConfig, RBAC,
/// ServiceAccounts), but not the namespace (`deleteNamespace`) nor the CRDs and the mesh's Secrets
/// (`deleteClusterWideResources`: deleting a CRD deletes every resource of its kind).
public struct ControlPlaneUninstaller: Sendable {
    public var client: KubeClient
    public var meshName: String
    public var namespace: String
    public var deleteNamespace: Bool
    public var deleteClusterWideResources: Bool

    public init(client: KubeClient, meshName: String, namespace: String, deleteNamespace: Bool = false, deleteClusterWideResources: Bool = false) {
        self.client = client
        self.meshName = meshName
        self.namespace = namespace
        self.deleteNamespace = deleteNamespace
        self.deleteClusterWideResources = deleteClusterWideResources
    }

    /// The mesh is installed in the namespace.
    public func meshExists() async throws(OperateError) -> Bool {
        do {
            return try await MeshInstance.list(client: client, namespace: namespace).contains { $0.name == meshName }
        } catch {
            throw OperateError("fsm uninstall mesh: cannot list the meshes in namespace \(namespace)", error)
        }
    }

    /// Deletes and returns the lines to print.
    public func uninstall() async throws(OperateError) -> [String] {
        let plan = try InstallPlan(documents: ControlPlaneManifests(meshName: meshName, namespace: namespace).documents())
        var lines: [String] = []
        for step in plan.steps.reversed() where step.phase != .namespace && step.phase != .customResourceDefinitions {
            try await delete(step.type, step.namespace, step.name)
        }
        lines.append("FSM [mesh name: \(meshName)] uninstalled")
        if deleteClusterWideResources {
            for step in plan.steps(in: .customResourceDefinitions) {
                if try await delete(step.type, nil, step.name) { lines.append("Successfully deleted FSM CRD: \(step.name)") }
            }
            for secret in [ControlPlaneComponent.caSecretName, ControlPlaneComponent.credentialSecretName] {
                if try await delete(.secrets, namespace, secret) { lines.append("Successfully deleted FSM secret \(secret) in namespace [\(namespace)]") }
            }
        }
        if deleteNamespace {
            let deleted = try await delete(.namespaces, nil, namespace)
            lines.append(deleted ? "FSM namespace [\(namespace)] deleted successfully" : "FSM namespace [\(namespace)] not found")
        }
        return lines
    }

    @discardableResult
    func delete(_ type: KubeResourceType, _ namespace: String?, _ name: String) async throws(OperateError) -> Bool {
        do {
            return try await client.delete(type, namespace: namespace, name: name)
        } catch {
            throw OperateError("fsm uninstall mesh: deleting \(type.kind) \(namespace.map { "\($0)/" } ?? "")\(name)", error)
        }
    }
}
