import Foundation
import Logging
import MeshIdentity
import MeshModel

/// An AccessCert's certificate as its Secret holds it (FSM's keys: `ca.crt`, `tls.crt`, `tls.key`).
public struct AccessCertMaterial: Sendable, Equatable {
    public var caPEM: String
    public var certificatePEM: String
    public var privateKeyPEM: String

    public init(caPEM: String, certificatePEM: String, privateKeyPEM: String) {
        self.caPEM = caPEM
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }

    public init(_ certificate: ServerCertificate) {
        self.init(caPEM: certificate.issuerPEM, certificatePEM: certificate.certificatePEM, privateKeyPEM: certificate.privateKeyPEM)
    }

    /// The Secret's data, by key.
    public var secretData: [String: [UInt8]] {
        ["ca.crt": Array(caPEM.utf8), "tls.crt": Array(certificatePEM.utf8), "tls.key": Array(privateKeyPEM.utf8)]
    }
}

/// A write an `AccessCertStore` refuses, in one line (it becomes the AccessCert's status reason).
public struct AccessCertStoreError: Error, CustomStringConvertible, Equatable {
    public var description: String

    public static func foreignSecret(_ secret: SecretReference, owner: ResourceKey) -> AccessCertStoreError {
        AccessCertStoreError(description: "Secret \(secret) exists and was not written for AccessCert \(owner.namespace)/\(owner.name); it is left alone")
    }
}

/// Where the controller keeps what AccessCerts ask for: Secrets in a cluster (MeshKube's
/// `KubeAccessCertStore`), files beside a manifest directory (`AccessCertFileStore`). The
/// controller's `AccessCertIssuer` decides; a store only writes.
public protocol AccessCertStore: Sendable {
    /// Whether this replica writes now (in a cluster: the leader). A replica that is not is told
    /// nothing, and issues everything afresh when it becomes one.
    var isActive: Bool { get }
    /// Creates or replaces the Secret `secret` for the AccessCert `owner`; fails when a Secret of
    /// that name exists that was not written for `owner`.
    func write(_ material: AccessCertMaterial, to secret: SecretReference, owner: ResourceKey) async throws
    /// Removes the Secret if it is still the one written for `owner`.
    func remove(_ secret: SecretReference, owner: ResourceKey) async throws
    func setStatus(_ status: AccessCertStatus, of accessCert: ResourceKey) async throws
}

/// `fsm controller --manifests DIR`'s store: each Secret as a directory
/// `<root>/<namespace>/<name>/` holding `ca.crt`, `tls.crt` (0644) and `tls.key` (0600), the
/// directories 0700, and `owner` (0600) naming the AccessCert it was written for; statuses are logged.
public struct AccessCertFileStore: AccessCertStore {
    public static let ownerFile = "owner"

    public let root: String
    let logger: Logger

    public init(root: String, logger: Logger) {
        self.root = root
        self.logger = logger
    }

    public var isActive: Bool { true }

    public func directory(of secret: SecretReference) -> String {
        ((root as NSString).appendingPathComponent(secret.namespace) as NSString).appendingPathComponent(secret.name)
    }

    public func write(_ material: AccessCertMaterial, to secret: SecretReference, owner: ResourceKey) async throws {
        let directory = directory(of: secret)
        try checkOwner(directory, secret: secret, owner: owner)
        try SecretFile.createDirectory(directory)
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        try SecretFile.write(material.privateKeyPEM, to: path("tls.key"))
        try SecretFile.write(material.certificatePEM, to: path("tls.crt"), mode: SecretFile.publicFileMode)
        try SecretFile.write(material.caPEM, to: path("ca.crt"), mode: SecretFile.publicFileMode)
        try SecretFile.write(Self.ownerText(owner), to: path(Self.ownerFile))
    }

    public func remove(_ secret: SecretReference, owner: ResourceKey) async throws {
        let directory = directory(of: secret)
        guard (try? ownerOf(directory)) == Self.ownerText(owner) else { return }
        try FileManager.default.removeItem(atPath: directory)
    }

    public func setStatus(_ status: AccessCertStatus, of accessCert: ResourceKey) async throws {
        let metadata: Logger.Metadata = ["access_cert": "\(accessCert.namespace)/\(accessCert.name)", "status": "\(status.currentStatus.rawValue)",
                                         "reason": "\(status.reason)"]
        if status.currentStatus == .error {
            logger.warning("AccessCert not issued", metadata: metadata)
        } else {
            logger.info("AccessCert issued", metadata: metadata)
        }
    }

    static func ownerText(_ owner: ResourceKey) -> String { "AccessCert \(owner.namespace)/\(owner.name)\n" }

    private func ownerOf(_ directory: String) throws -> String? {
        let path = (directory as NSString).appendingPathComponent(Self.ownerFile)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return String(decoding: try SecretFile.read(path), as: UTF8.self)
    }

    private func checkOwner(_ directory: String, secret: SecretReference, owner: ResourceKey) throws {
        guard FileManager.default.fileExists(atPath: directory) else { return }
        let found = try ownerOf(directory)
        guard found == Self.ownerText(owner) else {
            throw AccessCertStoreError.foreignSecret(secret, owner: owner)
        }
    }
}
