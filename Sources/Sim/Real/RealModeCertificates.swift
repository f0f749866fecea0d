import Foundation
import MeshIdentity
import MeshModel
import MeshRuntime

/// The certificate authority of one real-mode run: a root made for the run, and a workload
/// certificate per meshed pod for its service identity, written as PEM files for its sidecar
/// (the private key 0600 from creation, in the run's 0700 directory).
struct RealModeCertificates {
    private let authority: MeshCertificateAuthority
    private let directory: URL
    private let validity: MeshDuration

    init(directory: URL, validity: MeshDuration) throws {
        var generator = SystemRandomNumberGenerator()
        // A minute in the past: a certificate must not start after the sidecar first checks it.
        authority = try MeshCertificateAuthority.createRoot(now: Date(timeIntervalSinceNow: -60), using: &generator)
        self.directory = directory
        self.validity = validity
    }

    /// Issues `identity` (`sa.ns.cluster.local`) a certificate and names its files for a sidecar.
    func issue(for identity: String, name: String) throws -> PeerCertificateFiles {
        var generator = SystemRandomNumberGenerator()
        let workload = try authority.issue(for: ServiceIdentity(parsing: identity), now: Date(timeIntervalSinceNow: -60), validity: validity, using: &generator)
        let files = PeerCertificateFiles(certificatePath: directory.appendingPathComponent("\(name).crt").path,
                                         privateKeyPath: directory.appendingPathComponent("\(name).key").path,
                                         caPath: directory.appendingPathComponent("\(name)-ca.crt").path)
        // In the run's 0700 directory; the key 0600 from creation.
        try SecretFile.write(workload.privateKeyPEM, to: files.privateKeyPath)
        try SecretFile.write(workload.issuerPEM, to: files.caPath, mode: SecretFile.publicFileMode)
        try SecretFile.write(workload.certificatePEM, to: files.certificatePath, mode: SecretFile.publicFileMode)
        return files
    }
}
