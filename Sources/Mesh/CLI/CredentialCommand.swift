import ArgumentParser
import Foundation
import MeshControlPlane
import MeshIdentity

/// `fsm credential`: mints a pod's credential with the controller's key, for a sidecar started by
/// hand (`fsm up` mints its pods' credentials itself).
struct CredentialCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credential",
        abstract: "Write a pod's credential (0600) for `fsm sidecar --credential-file`, minted with the key in the controller's state dir.",
        discussion: "The key (credential.key) is created there if the controller has not made it yet. Deleting it and restarting the controller revokes every credential."
    )

    @Option(help: "The controller's state directory (holds credential.key).")
    var stateDir = ".fsm-controller"

    @Option(help: "The pod, namespace/name.")
    var pod: String

    @Option(help: "File to write the credential to (mode 0600; its directory must exist).")
    var out: String

    func run() throws {
        let parts = pod.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { throw ValidationError("--pod must be namespace/name, found '\(pod)'") }
        let state = ControllerStateDirectory(path: URL(fileURLWithPath: stateDir).standardizedFileURL.path)
        try state.prepare()
        var generator = SystemRandomNumberGenerator()
        let credential = try state.loadOrCreateCredentialAuthority().mint(.pod(namespace: parts[0], name: parts[1]), using: &generator)
        try SecretFile.write(credential.token + "\n", to: out)
        print("credential for \(credential.subject) written to \(out)")
    }
}
