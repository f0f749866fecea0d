import Foundation
import MeshIdentity

/// The controller's state directory (mode 0700): the mesh CA (`ca.crt`, `private.key`), the key
/// that credentials are minted with (`credential.key`) and the operator's token
/// (`operator.token`), and the certificates AccessCerts ask for (`access-certs/`). Every secret is written 0600 from creation (`SecretFile`) and read back
/// only if nobody else can read it; `ca.crt` is public (0644).
public struct ControllerStateDirectory: Sendable {
    public static let caCertificateFile = "ca.crt"
    public static let caKeyFile = "private.key"
    public static let credentialKeyFile = "credential.key"
    public static let operatorTokenFile = "operator.token"
    /// AccessCerts' Secrets, one directory each: `access-certs/<namespace>/<name>/` (`AccessCertFileStore`).
    public static let accessCertDirectory = "access-certs"

    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func file(_ name: String) -> String {
        (path as NSString).appendingPathComponent(name)
    }

    /// Creates the directory (and missing parents) 0700. An existing directory is kept as it is
    /// (the user named it, and it might be shared, like /tmp): every secret in it is 0600 anyway.
    public func prepare() throws(SecretFileError) {
        try SecretFile.createDirectory(path, narrowExisting: false)
    }

    /// The CA kept here; created (certificate first, key last) when there is no key yet.
    public func loadOrCreateCertificateAuthority(now: Date) throws -> (authority: MeshCertificateAuthority, created: Bool) {
        let keyPath = file(Self.caKeyFile)
        if FileManager.default.fileExists(atPath: keyPath) {
            let key = String(decoding: try SecretFile.read(keyPath), as: UTF8.self)
            guard let certificate = FileManager.default.contents(atPath: file(Self.caCertificateFile)) else {
                throw ControllerStateError("\(file(Self.caCertificateFile)): cannot read the CA certificate that goes with \(keyPath)")
            }
            return (try MeshCertificateAuthority(certificatePEM: String(decoding: certificate, as: UTF8.self), privateKeyPEM: key), false)
        }
        var generator = SystemRandomNumberGenerator()
        let authority = try MeshCertificateAuthority.createRoot(now: now, using: &generator)
        try SecretFile.write(authority.certificatePEM, to: file(Self.caCertificateFile), mode: SecretFile.publicFileMode)
        try SecretFile.write(authority.privateKeyPEM, to: keyPath)
        return (authority, true)
    }

    /// The credential key kept here; created when missing. Two processes creating it at once
    /// agree on one key (the file is created exclusively).
    public func loadOrCreateCredentialAuthority() throws -> CredentialAuthority {
        let keyPath = file(Self.credentialKeyFile)
        if !FileManager.default.fileExists(atPath: keyPath) {
            _ = try SecretFile.createNew(Self.newKeyText(), at: keyPath)
        }
        return try loadCredentialAuthority()
    }

    /// A new credential key in place of the old one: every credential minted before stops verifying.
    public func rotateCredentialKey() throws -> CredentialAuthority {
        try SecretFile.write(Self.newKeyText(), to: file(Self.credentialKeyFile))
        return try loadCredentialAuthority()
    }

    /// Mints a new operator credential and writes it to `operator.token` (0600); returns the path.
    public func writeOperatorToken(with credentials: CredentialAuthority) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let credential = try credentials.mint(.operator, using: &generator)
        let tokenPath = file(Self.operatorTokenFile)
        try SecretFile.write(credential.token + "\n", to: tokenPath)
        return tokenPath
    }

    private func loadCredentialAuthority() throws -> CredentialAuthority {
        let keyPath = file(Self.credentialKeyFile)
        let text = String(decoding: try SecretFile.read(keyPath), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Data(base64Encoded: text), bytes.count >= CredentialAuthority.keyByteCount else {
            throw ControllerStateError("\(keyPath): expected the base64 of a \(CredentialAuthority.keyByteCount)-byte key on one line")
        }
        return try CredentialAuthority(keyBytes: Array(bytes))
    }

    private static func newKeyText() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return Array((Data(CredentialAuthority.generateKey(using: &generator)).base64EncodedString() + "\n").utf8)
    }
}

/// A state directory that cannot be used, in one line.
public struct ControllerStateError: Error, CustomStringConvertible, Equatable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
