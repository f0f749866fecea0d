import ArgumentParser
import Foundation
import MeshSidecarCommand
import MeshUp
#if canImport(Glibc)
import Glibc
#endif

/// `fsm container`: one container of a pod, as `fsm up --pods netns` starts it (the container
/// runtime's last steps): in the pod's network namespace, its volumes mounted, as its user.
struct ContainerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container",
        abstract: "Run a program as a container of a pod started by `fsm up --pods netns` (root): in the pod's network namespace, with its mounts, as its user.",
        discussion: "Mounts stay in the container's own mount namespace; a mount point missing on this machine is made in an overlay only the container sees."
    )

    @Option(help: "The pod's network namespace (a name under /run/netns).")
    var netns: String

    @Option(help: "The user id the program runs as (runAsUser).")
    var user = 0

    @Option(help: "The group id the program runs as (runAsGroup).")
    var group = 0

    @Option(help: "A root-owned directory where overlays for missing mount points are made (needed only when a mount point is missing).")
    var scratch: String?

    @Option(help: "A cgroup v2 directory the program runs in (a pod's sidecar or app cgroup under eBPF capture).")
    var cgroup: String?

    @Flag(help: "Start the program with no_new_privs (allowPrivilegeEscalation: false).")
    var noNewPrivileges = false

    @Option(help: "SOURCE:PATH[:ro]: a host directory or file seen at PATH in the container (repeatable).")
    var mount: [String] = []

    @Option(help: "NAME=VALUE: the container's environment (repeatable); nothing else of fsm's environment is passed on.")
    var env: [String] = []

    @Argument(parsing: .postTerminator, help: "The program and its arguments, after --.")
    var argv: [String] = []

    func validate() throws {
        guard !argv.isEmpty else { throw ValidationError("give the program after --") }
        guard (0...Int(Int32.max)).contains(user), (0...Int(Int32.max)).contains(group) else { throw ValidationError("--user and --group must be ids between 0 and \(Int32.max)") }
        for item in mount where ContainerMount(argument: item) == nil { throw ValidationError("--mount \(item): expected SOURCE:PATH[:ro] with absolute paths") }
        for item in env where !item.contains("=") || item.hasPrefix("=") { throw ValidationError("--env \(item): expected NAME=VALUE") }
        guard geteuid() == 0 else { throw ValidationError("fsm container needs root: it enters a network namespace, mounts and changes user (running as uid \(geteuid()))") }
    }

    func run() throws {
        let launch = ContainerRuntime.Launch(netns: netns, user: user, group: group, noNewPrivileges: noNewPrivileges,
                                             mounts: mount.compactMap(ContainerMount.init(argument:)), scratch: scratch, environment: env, argv: argv, cgroup: cgroup)
        do {
            try ContainerRuntime.exec(launch)
        } catch {
            throw CommandFailure("fsm container: \(error)")
        }
    }
}
