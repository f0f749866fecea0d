import ArgumentParser
import Foundation
import MeshControlPlane
import MeshIdentity

/// `fsm credential`: mints a pod's credential with the controller's key, for a sidecar started by
/// hand (`fsm up` mints its pods' credentials itself).
struct CredentialCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "credential",
        abstract: "Write a pod's credential (0600) for `fsm sidecar --credential-file`, or a gateway's, minted with the key in the controller's state dir.",
        discussion: "The key (credential.key) is created there if the controller has not made it yet. Deleting it and restarting the controller revokes every credential."
    )

    @Option(help: "The controller's state directory (holds credential.key).")
    var stateDir = ".fsm-controller"

    @Option(help: "The pod, namespace/name.")
    var pod: String?

    @Option(help: "A Gateway, namespace/name: the credential reads its config (GET /v1/gateways/<ns>/<name>) and nothing else.")
    var gateway: String?

    @Option(help: "File to write the credential to (mode 0600; its directory must exist).")
    var out: String

    func validate() throws {
        if (pod == nil) == (gateway == nil) { throw ValidationError("give exactly one of --pod and --gateway") }
        for (option, value) in [("--pod", pod), ("--gateway", gateway)] {
            if let value, value.split(separator: "/", omittingEmptySubsequences: false).count != 2 {
                throw ValidationError("\(option) must be namespace/name, found '\(value)'")
            }
        }
    }

    func run() throws {
        let parts = (pod ?? gateway ?? "").split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let subject: CredentialSubject = pod != nil ? .pod(namespace: parts[0], name: parts[1]) : .gateway(namespace: parts[0], name: parts[1])
        let state = ControllerStateDirectory(path: URL(fileURLWithPath: stateDir).standardizedFileURL.path)
        try state.prepare()
        var generator = SystemRandomNumberGenerator()
        let credential = try state.loadOrCreateCredentialAuthority().mint(subject, using: &generator)
        try SecretFile.write(credential.token + "\n", to: out)
        print("credential for \(credential.subject) written to \(out)")
    }
}
