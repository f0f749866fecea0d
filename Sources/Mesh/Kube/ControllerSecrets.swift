import Foundation
import Logging
import MeshIdentity

/// The secrets every controller replica must share, kept in Secrets of the mesh's namespace:
/// the mesh root CA (`fsm-ca-bundle`: `ca.crt`, `private.key`, FSM's names) and the key pod
/// credentials are minted with (`fsm-credential-key`: `credential.key`). The leader creates a
/// missing one (a create, so two leaders in a race agree on the first); followers wait until it
/// exists. The values never touch the disk.
public struct ControllerSecrets: Sendable {
    public static let caSecretName = "fsm-ca-bundle"
    public static let credentialSecretName = "fsm-credential-key"

    public var authority: MeshCertificateAuthority
    public var credentials: CredentialAuthority

    public init(authority: MeshCertificateAuthority, credentials: CredentialAuthority) {
        self.authority = authority
        self.credentials = credentials
    }

    /// Reads both Secrets, creating them when missing and `isLeader()` says so; retries every
    /// `retry` until both are there (a follower waits for the leader). An API server that cannot be
    /// reached or refuses is logged once per cause and retried with backoff; only Secrets whose
    /// content is unusable end the start.
    public static func load(client: KubeClient, namespace: String, isLeader: @Sendable () -> Bool, retry: Duration = .seconds(1),
                            logger: Logger) async throws -> ControllerSecrets {
        var announced = false
        var backoff = ReconnectBackoff(initial: .milliseconds(200), maximum: .seconds(10))
        var random = SystemRandomNumberGenerator()
        var lastProblem: String?
        while true {
            try Task.checkCancellation()
            do {
                if let authority = try await loadAuthority(client: client, namespace: namespace, create: isLeader(), logger: logger),
                   let credentials = try await loadCredentials(client: client, namespace: namespace, create: isLeader(), logger: logger) {
                    return ControllerSecrets(authority: authority, credentials: credentials)
                }
            } catch let error as KubeError where error.kind != .malformed && error.kind != .configuration {
                if "\(error)" != lastProblem {
                    logger.warning("cannot read the mesh secrets yet; retrying with backoff", metadata: ["problem": "\(error)"])
                    lastProblem = "\(error)"
                }
                try await Task.sleep(for: backoff.nextDelay(using: &random))
                continue
            }
            if !announced {
                logger.notice("waiting for the leader to create the mesh secrets", metadata: ["namespace": "\(namespace)"])
                announced = true
            }
            try await Task.sleep(for: retry)
        }
    }

    static func loadAuthority(client: KubeClient, namespace: String, create: Bool, logger: Logger) async throws -> MeshCertificateAuthority? {
        if let data = try await client.secretData(namespace: namespace, name: caSecretName) {
            guard let certificate = data["ca.crt"], let key = data["private.key"] else {
                throw KubeError(.malformed, request: "secret \(namespace)/\(caSecretName)", message: "expected the keys ca.crt and private.key")
            }
            return try MeshCertificateAuthority(certificatePEM: String(decoding: certificate, as: UTF8.self), privateKeyPEM: String(decoding: key, as: UTF8.self))
        }
        guard create else { return nil }
        var generator = SystemRandomNumberGenerator()
        let authority = try MeshCertificateAuthority.createRoot(now: Date(), using: &generator)
        let data = ["ca.crt": Array(authority.certificatePEM.utf8), "private.key": Array(authority.privateKeyPEM.utf8)]
        guard try await createOnce(client: client, namespace: namespace, name: caSecretName, data: data) else {
            return try await loadAuthority(client: client, namespace: namespace, create: false, logger: logger)
        }
        logger.notice("mesh CA created", metadata: ["secret": "\(namespace)/\(caSecretName)"])
        return authority
    }

    static func loadCredentials(client: KubeClient, namespace: String, create: Bool, logger: Logger) async throws -> CredentialAuthority? {
        if let data = try await client.secretData(namespace: namespace, name: credentialSecretName) {
            guard let key = data["credential.key"], key.count >= CredentialAuthority.keyByteCount else {
                throw KubeError(.malformed, request: "secret \(namespace)/\(credentialSecretName)",
                                message: "expected credential.key holding a \(CredentialAuthority.keyByteCount)-byte key")
            }
            return try CredentialAuthority(keyBytes: key)
        }
        guard create else { return nil }
        var generator = SystemRandomNumberGenerator()
        let key = CredentialAuthority.generateKey(using: &generator)
        guard try await createOnce(client: client, namespace: namespace, name: credentialSecretName, data: ["credential.key": key]) else {
            return try await loadCredentials(client: client, namespace: namespace, create: false, logger: logger)
        }
        logger.notice("credential key created", metadata: ["secret": "\(namespace)/\(credentialSecretName)"])
        return try CredentialAuthority(keyBytes: key)
    }

    /// Creates the Secret; false when another writer created it first.
    private static func createOnce(client: KubeClient, namespace: String, name: String, data: [String: [UInt8]]) async throws(KubeError) -> Bool {
        do {
            try await client.createSecret(namespace: namespace, name: name, data: data, labels: ["app.kubernetes.io/managed-by": "fsm"])
            return true
        } catch where error.isConflict {
            return false
        }
    }
}
