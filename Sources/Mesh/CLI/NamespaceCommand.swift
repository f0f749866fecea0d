import ArgumentParser
import MeshInstall
import MeshOperate
import MeshSidecarCommand

/// `fsm namespace add|remove|list|ignore` (F1-023, F1-024, F1-039, F1-044, F1-048).
struct NamespaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "namespace", abstract: "Add namespaces to a mesh, remove them, ignore them, or list the mesh's namespaces.",
        subcommands: [Add.self, Remove.self, List.self, Ignore.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Label namespaces flomesh.io/monitored-by=<mesh> and enable (or disable) sidecar injection in them.")

        @Argument(help: "The namespaces.")
        var namespaces: [String]

        @Option(help: "The mesh.")
        var meshName = MeshName.defaultName

        @Flag(help: "Annotate flomesh.io/sidecar-injection=disabled instead of enabled.")
        var disableSidecarInjection = false

        @OptionGroup(title: "Cluster")
        var kube: KubeOptions

        func run() async throws {
            try await NamespaceCommand.perform(.add(meshName: meshName, disableSidecarInjection: disableSidecarInjection), on: namespaces, kube: kube)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the mesh's label and the injection and metrics annotations from namespaces (their sidecars stay until the pods restart).")

        @Argument(help: "The namespaces.")
        var namespaces: [String]

        @Option(help: "The mesh.")
        var meshName = MeshName.defaultName

        @OptionGroup(title: "Cluster")
        var kube: KubeOptions

        func run() async throws {
            try await NamespaceCommand.perform(.remove(meshName: meshName), on: namespaces, kube: kube)
        }
    }

    struct Ignore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Label namespaces flomesh.io/ignore=true: never injected.")

        @Argument(help: "The namespaces.")
        var namespaces: [String]

        @OptionGroup(title: "Cluster")
        var kube: KubeOptions

        func run() async throws {
            try await NamespaceCommand.perform(.ignore, on: namespaces, kube: kube)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the namespaces of a mesh (of every mesh without --mesh-name).")

        @Option(help: "The mesh.")
        var meshName: String?

        @OptionGroup(title: "Cluster")
        var kube: KubeOptions

        func run() async throws {
            let table = try await kube.withClient { client in
                do {
                    return try await NamespaceOperations(client: client).list(meshName: meshName)
                } catch let error as OperateError {
                    throw CommandFailure(error.message)
                }
            }
            print(table, terminator: "")
        }
    }

    /// Runs the action on each namespace in turn; the first refusal stops with its line (exit 1).
    static func perform(_ action: NamespaceOperations.Action, on namespaces: [String], kube: KubeOptions) async throws {
        guard !namespaces.isEmpty else { throw ValidationError("name at least one namespace") }
        try await kube.withClient { client in
            let operations = NamespaceOperations(client: client)
            for namespace in namespaces {
                do {
                    print(try await operations.perform(action, on: namespace))
                } catch let error as OperateError {
                    throw CommandFailure(error.message)
                }
            }
        }
    }
}

/// `fsm metrics enable|disable --namespace NS` (F1-043, F1-045): the `flomesh.io/metrics` annotation.
struct MetricsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "metrics", abstract: "Enable or disable metrics scraping in mesh namespaces.",
                                                    subcommands: [Enable.self, Disable.self])

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Annotate namespaces flomesh.io/metrics=enabled.")

        @OptionGroup var target: Target

        func run() async throws { try await target.metrics(enable: true) }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove the flomesh.io/metrics annotation from namespaces.")

        @OptionGroup var target: Target

        func run() async throws { try await target.metrics(enable: false) }
    }

    /// The namespaces and the cluster, for both subcommands.
    struct Target: ParsableArguments {
        @Option(help: "The namespaces, comma-separated or repeated.")
        var namespace: [String]

        @OptionGroup(title: "Cluster")
        var kube: KubeOptions

        func metrics(enable: Bool) async throws {
            let names = namespace.flatMap { $0.split(separator: ",").map(String.init) }.filter { !$0.isEmpty }
            try await NamespaceCommand.perform(.metrics(enable: enable), on: names, kube: kube)
        }
    }
}
