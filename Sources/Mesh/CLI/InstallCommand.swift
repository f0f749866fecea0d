import ArgumentParser
import MeshInstall
import MeshModel

/// `fsm install`: renders the control plane's manifests (`MeshInstall.ControlPlaneManifests`).
/// `--dry-run` prints them as `kubectl apply -f` takes them (deploy/fsm.yaml is the default
/// output). Applying them through the Kubernetes client waits for MeshKube.
struct InstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Install the fsm control plane on a Kubernetes cluster (--dry-run prints the manifests).",
        discussion: "--set keys: " + InstallValues.table.map { "\($0.key) (default \($0.defaultValue.rendered()))" }.joined(separator: ", ")
    )

    @Option(help: "Name for the new control plane instance (an RFC 1123 DNS label).")
    var meshName = MeshName.defaultName

    @Option(help: "Namespace of the control plane (created when missing).")
    var fsmNamespace = MeshName.defaultNamespace

    @Option(help: "Set a value: key=value, several separated by commas; lists as {a,b} or [a,b]. Repeatable.")
    var set: [String] = []

    @Flag(help: "Print the manifests instead of applying them.")
    var dryRun = false

    func run() throws {
        let manifests = try Self.manifests(meshName: meshName, namespace: fsmNamespace, assignments: set)
        guard dryRun else {
            throw CommandFailure("applying to a cluster needs the Kubernetes client, which is not in this build yet; run `fsm install --dry-run | kubectl apply -f -` (see docs/DEPLOY.md)")
        }
        print(manifests.yaml(), terminator: "")
    }

    /// The manifests for these options, or the first problem as one line.
    static func manifests(meshName: String, namespace: String, assignments: [String]) throws -> ControlPlaneManifests {
        if let problem = MeshName.problem(with: meshName) { throw CommandFailure(problem) }
        if let problem = MeshName.namespaceProblem(with: namespace) { throw CommandFailure(problem) }
        var values = InstallValues()
        for assignment in assignments {
            do {
                try values.set(assignment)
            } catch {
                throw CommandFailure(error.message)
            }
        }
        return ControlPlaneManifests(meshName: meshName, namespace: namespace, values: values)
    }
}

/// `fsm version`: the client's version (the mesh's, read from the controller's Deployment, needs
/// the Kubernetes client).
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the fsm CLI version.")

    func run() {
        print("CLI Version: \(MeshVersion.current)")
    }
}
