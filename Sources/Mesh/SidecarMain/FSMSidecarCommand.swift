import ArgumentParser
import MeshModel
import MeshSidecarCommand

/// `fsm-sidecar [sidecar] <options>`: `fsm sidecar` alone in its own executable, which links
/// none of the controller, injector, Kubernetes client or installer (DECISIONS 236). The
/// `sidecar` word is optional, so that the injector's `<binary> sidecar …` command line works with
/// either binary.
@main
struct FSMSidecarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsm-sidecar",
        abstract: "Run a sidecar (the same as `fsm sidecar`, in a smaller executable).",
        version: MeshVersion.current,
        subcommands: [SidecarCommand.self],
        defaultSubcommand: SidecarCommand.self
    )
}
