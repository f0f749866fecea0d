import MeshInstall
import MeshKube
import MeshModel

/// `fsm namespace add|remove|ignore|list` and `fsm metrics enable|disable` against a cluster: the
/// namespace is read, `NamespaceMembership` decides, and its merge patch is sent.
public struct NamespaceOperations: Sendable {
    public var client: KubeClient

    public init(client: KubeClient) {
        self.client = client
    }

    /// One command on one namespace.
    public enum Action: Sendable {
        case add(meshName: String, disableSidecarInjection: Bool)
        case remove(meshName: String)
        case ignore
        case metrics(enable: Bool)

        /// `add namespace [bookstore] to mesh [fsm]`, for errors.
        func describe(_ name: String) -> String {
            switch self {
            case .add(let mesh, _): "add namespace [\(name)] to mesh [\(mesh)]"
            case .remove(let mesh): "remove namespace [\(name)] from mesh [\(mesh)]"
            case .ignore: "ignore namespace [\(name)]"
            case .metrics(let enable): "\(enable ? "enable" : "disable") metrics in namespace [\(name)]"
            }
        }
    }

    /// Runs the action on `name`: the line to print, or the refusal as an error.
    public func perform(_ action: Action, on name: String) async throws(OperateError) -> String {
        let what = action.describe(name)
        do {
            guard let object = try await client.get(.namespaces, name: name), let membership = NamespaceMembership(object: object.json) else {
                throw OperateError("Could not \(what): namespace [\(name)] does not exist")
            }
            let outcome: NamespaceMembership.Outcome
            switch action {
            case .add(let meshName, let disable):
                let controllers = try await client.list(.deployments, namespace: name, labelSelector: MeshInstance.controllerSelector).items
                outcome = membership.add(meshName: meshName, disableSidecarInjection: disable, controlPlaneHere: !controllers.isEmpty)
            case .remove(let meshName): outcome = membership.remove(meshName: meshName)
            case .ignore: outcome = membership.ignore()
            case .metrics(let enable): outcome = membership.metrics(enable: enable)
            }
            switch outcome {
            case .patch(let patch, let line):
                try await client.patch(.namespaces, name: name, .merge(patch))
                return line
            case .unchanged(let line): return line
            case .refused(let reason): throw OperateError(reason)
            }
        } catch let error as KubeError {
            throw OperateError("Could not \(what)", error)
        } catch let error as OperateError {
            throw error
        } catch {
            throw OperateError("Could not \(what): \(error)")
        }
    }

    /// `fsm namespace list`: the guides' table of the namespaces in a mesh (any mesh when nil).
    public func list(meshName: String?) async throws(OperateError) -> String {
        do {
            let selector = NamespaceMembership.monitoredByLabel + (meshName.map { "=\($0)" } ?? "")
            let namespaces = try await client.list(.namespaces, labelSelector: selector).items.compactMap { NamespaceMembership(object: $0.json) }
            return NamespaceMembership.list(namespaces, meshName: meshName)
        } catch {
            throw OperateError("Could not list namespaces", error)
        }
    }
}
