import ArgumentParser
import Foundation
import MeshInstall
import MeshOperate
import MeshSidecarCommand

/// `fsm uninstall mesh`: the guide's prompt (F1-026), then `ControlPlaneUninstaller`.
struct UninstallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "uninstall", abstract: "Uninstall fsm from a cluster.", subcommands: [Mesh.self])

    struct Mesh: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mesh",
            abstract: "Uninstall a control plane: its Deployments, Services, MeshConfig, RBAC and webhook configurations.",
            discussion: "The namespace stays unless --delete-namespace; the CRDs (and with them every SMI and FSM resource in the cluster) and the mesh's Secrets stay unless --delete-cluster-wide-resources."
        )

        @Option(help: "Name of the mesh to uninstall.")
        var meshName = MeshName.defaultName

        @Option(help: "Namespace of its control plane.")
        var fsmNamespace = MeshName.defaultNamespace

        @Flag(help: "Delete the control plane's namespace too.")
        var deleteNamespace = false

        @Flag(name: [.customShort("a"), .long], help: "Delete the CRDs (every SMI and FSM resource of the cluster with them) and the mesh's Secrets too.")
        var deleteClusterWideResources = false

        @Flag(name: [.customShort("y"), .customLong("yes"), .customShort("f"), .customLong("force")], help: "Uninstall without asking.")
        var yes = false

        @OptionGroup(title: "Cluster")
        var kube: KubeOptions

        func run() async throws {
            let lines = try await kube.withClient { client in
                let uninstaller = ControlPlaneUninstaller(client: client, meshName: meshName, namespace: fsmNamespace, deleteNamespace: deleteNamespace,
                                                          deleteClusterWideResources: deleteClusterWideResources)
                do {
                    guard try await uninstaller.meshExists() else {
                        throw CommandFailure("Did not find mesh [\(meshName)] in namespace [\(fsmNamespace)]")
                    }
                    guard try yes || confirm() else { return ["Uninstall of mesh [\(meshName)] cancelled"] }
                    return try await uninstaller.uninstall()
                } catch let error as OperateError {
                    throw CommandFailure(error.message)
                }
            }
            for line in lines { print(line) }
        }

        /// `Uninstall FSM [mesh name: fsm] ? [y/n]: ` until y or n (three tries); no answer is an error.
        func confirm() throws -> Bool {
            for _ in 0..<3 {
                print("Uninstall FSM [mesh name: \(meshName)] ? [y/n]: ", terminator: "")
                fflush(nil)
                guard let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() else {
                    throw CommandFailure("no answer to the prompt (standard input ended): give -y to uninstall without asking")
                }
                if ["y", "yes"].contains(answer) { return true }
                if ["n", "no"].contains(answer) { return false }
            }
            throw CommandFailure("no y or n given after 3 prompts")
        }
    }
}
