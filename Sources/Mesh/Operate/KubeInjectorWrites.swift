import Foundation
import MeshInject
import MeshInjector
import MeshKube

/// The injection webhook's writes on the API server: each injected pod's credential Secret is
/// created in the pod's namespace (before the webhook answers, so the sidecar's mount exists), and
/// the mesh root is set as `caBundle` of the Mutating- and ValidatingWebhookConfiguration.
public struct KubeInjectorWrites: InjectorKubeWrites {
    public let client: KubeClient

    public init(client: KubeClient) {
        self.client = client
    }

    public func createSecret(_ secret: CredentialSecret) async throws {
        try await client.create(.secrets, namespace: secret.namespace, object: secret.manifest)
    }

    public func patchWebhookCABundle(configurationName: String, caBundlePEM: String) async throws {
        for type in [KubeResourceType.mutatingWebhookConfigurations, .validatingWebhookConfigurations] {
            try await client.patchWebhookCABundle(type, name: configurationName, caPEM: Array(caBundlePEM.utf8))
        }
    }
}
