import MeshControlPlane
import MeshModel
import NIOHTTP1

/// `fsm controller --kubernetes`'s `AccessCertStore`: the leader writes each AccessCert's
/// certificate as a `kubernetes.io/tls` Secret (`ca.crt`, `tls.crt`, `tls.key`, as FSM's
/// controller does) labelled with the AccessCert it was written for, never replaces or deletes a
/// Secret without that label, and sets the AccessCert's `status` through its status subresource.
public struct KubeAccessCertStore: AccessCertStore {
    /// `<namespace>.<name>` of the AccessCert a Secret was written for.
    public static let ownerLabel = "flomesh.io/access-cert"
    public static let secretType = "kubernetes.io/tls"

    let client: KubeClient
    let isLeader: @Sendable () -> Bool

    public init(client: KubeClient, isLeader: @escaping @Sendable () -> Bool) {
        self.client = client
        self.isLeader = isLeader
    }

    public var isActive: Bool { isLeader() }

    static func ownerValue(_ owner: ResourceKey) -> String { "\(owner.namespace).\(owner.name)" }

    public func write(_ material: AccessCertMaterial, to secret: SecretReference, owner: ResourceKey) async throws {
        if let existing = try await client.get(.secrets, namespace: secret.namespace, name: secret.name),
           existing.metadata?["labels"]?[Self.ownerLabel]?.stringValue != Self.ownerValue(owner) {
            throw AccessCertStoreError.foreignSecret(secret, owner: owner)
        }
        let labels = ["app.kubernetes.io/managed-by": "fsm", Self.ownerLabel: Self.ownerValue(owner)]
        let object = KubeClient.secretObject(namespace: secret.namespace, name: secret.name, data: material.secretData, labels: labels, type: Self.secretType)
        try await client.apply(.secrets, namespace: secret.namespace, name: secret.name, object: object)
    }

    public func remove(_ secret: SecretReference, owner: ResourceKey) async throws {
        guard let existing = try await client.get(.secrets, namespace: secret.namespace, name: secret.name),
              existing.metadata?["labels"]?[Self.ownerLabel]?.stringValue == Self.ownerValue(owner) else { return }
        try await client.delete(.secrets, namespace: secret.namespace, name: secret.name)
    }

    public func setStatus(_ status: AccessCertStatus, of accessCert: ResourceKey) async throws {
        let path = KubeResourceType.accessCerts.objectPath(namespace: accessCert.namespace, name: accessCert.name) + "/status"
        let body: JSONValue = .object([("status", status.jsonValue)])
        _ = try await client.send(.PATCH, path, body: Array(body.rendered().utf8), contentType: "application/merge-patch+json")
    }
}
