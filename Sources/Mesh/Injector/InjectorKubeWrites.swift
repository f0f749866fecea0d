import Foundation
import MeshIdentity
import MeshInject

/// The writes the injection webhook makes, behind a protocol so that the Kubernetes client
/// (`KubeClient`, branch `kube`) and the one-machine mode each provide them:
/// - the pod's credential Secret, created before the webhook answers (the sidecar mounts it);
/// - the MutatingWebhookConfiguration's `caBundle` (and the ValidatingWebhookConfiguration's), so
///   the API server trusts the webhook's certificate.
public protocol InjectorKubeWrites: Sendable {
    /// Creates `secret.manifest` in `secret.namespace`; throws with a one-line reason.
    func createSecret(_ secret: CredentialSecret) async throws
    /// Sets `caBundle` of every webhook of the named (mutating and validating) configurations.
    func patchWebhookCABundle(configurationName: String, caBundlePEM: String) async throws
}

/// The writes as files, for one machine (and the tests): each Secret's credential at
/// `<directory>/secrets/<namespace>/<secret name>/credential` (0600; directories 0700), where a
/// pod's sidecar reads it as it would from its mounted Secret, and the CA bundle at
/// `<directory>/ca-bundle.pem` (0644).
public struct DirectoryInjectorWrites: InjectorKubeWrites {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func secretDirectory(namespace: String, name: String) -> String {
        "\(directory)/secrets/\(namespace)/\(name)"
    }

    public func createSecret(_ secret: CredentialSecret) async throws {
        let target = secretDirectory(namespace: secret.namespace, name: secret.name)
        // Missing parents are created 0700 too.
        try SecretFile.createDirectory(target)
        try SecretFile.write(secret.token + "\n", to: "\(target)/\(CredentialSecret.dataKey)")
    }

    public func patchWebhookCABundle(configurationName: String, caBundlePEM: String) async throws {
        // The directory the user named: created 0700 when missing, never narrowed when it exists.
        try SecretFile.createDirectory(directory, narrowExisting: false)
        try SecretFile.write(caBundlePEM, to: "\(directory)/ca-bundle.pem", mode: SecretFile.publicFileMode)
    }
}
