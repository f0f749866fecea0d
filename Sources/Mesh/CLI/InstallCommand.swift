import ArgumentParser
import MeshInstall
import MeshKube
import MeshModel
import MeshOperate
import MeshSidecarCommand

/// `fsm install`: renders the control plane's manifests (`MeshInstall.ControlPlaneManifests`) and
/// applies them to the cluster through MeshKube (`MeshOperate.ControlPlaneInstaller`: server-side
/// apply in dependency order, CRDs Established and Deployments Available within `--timeout`), then
/// prints the guide's lines. `--dry-run` prints them as `kubectl apply -f` takes them instead
/// (deploy/fsm.yaml is the default output).
struct InstallCommand: AsyncParsableCommand {
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

    @Option(help: "Time to wait for the CRDs to be established and the Deployments to be available (such as 300s, 5m).")
    var timeout = "5m"

    @OptionGroup(title: "Cluster")
    var kube: KubeOptions

    func run() async throws {
        let manifests = try Self.manifests(meshName: meshName, namespace: fsmNamespace, assignments: set)
        if dryRun {
            print(manifests.yaml(), terminator: "")
            return
        }
        guard let limit = MeshDuration(parsing: timeout), limit >= .seconds(1) else {
            throw ValidationError("--timeout must be a duration of at least 1s, such as 300s or 5m")
        }
        let lines = try await kube.withClient { client in
            do {
                return try await ControlPlaneInstaller(client: client, manifests: manifests, timeout: .nanoseconds(limit.nanoseconds)).install()
            } catch let error as OperateError {
                throw CommandFailure(error.message)
            }
        }
        for line in lines { print(line) }
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

/// `fsm version`: the client's version and, when a cluster is configured and answers, each mesh's
/// (read from its controller Deployment's `app.kubernetes.io/version` label).
struct VersionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the fsm CLI version and the version of each mesh in the cluster.")

    @Flag(help: "Print only the client's version.")
    var client = false

    @OptionGroup(title: "Cluster")
    var kube: KubeOptions

    func run() async throws {
        print("CLI Version: \(MeshVersion.current)")
        guard !client, (try? kube.resolvedConnection()) != nil || kube.isGiven else { return }
        let meshes: [MeshInstance]
        do {
            meshes = try await kube.withClient(requestTimeout: 10) { client in try await MeshInstance.list(client: client) }
        } catch {
            throw CommandFailure("Unable to find the mesh versions in the cluster: \(error)")
        }
        print(Self.table(meshes))
    }

    static func table(_ meshes: [MeshInstance]) -> String {
        guard !meshes.isEmpty else { return "No FSM control planes found in the cluster" }
        let rows = [["MESH NAME", "MESH NAMESPACE", "VERSION"]] + meshes.map { [$0.name, $0.namespace, $0.version] }
        return TextTable.render(rows)
    }
}
