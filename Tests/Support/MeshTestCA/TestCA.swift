import Foundation
import MeshIdentity
import MeshModel
import MeshTesting
import X509

/// Where a workload's PEM files were written (`tls.crt`, `tls.key`, `ca.crt`).
public struct TestCertificateFiles: Sendable {
    public let certificatePath: String
    public let privateKeyPath: String
    public let caPath: String
}

/// A throwaway mesh CA for tests: deterministic keys and serials (seeded), certificates valid
/// around the wall clock unless a time is given.
public final class TestCA: @unchecked Sendable {
    /// The CA most tests share ("the mesh root").
    public static let shared = TestCA(commonName: "fsm-root-ca", seed: 1)
    /// A CA the mesh does not trust.
    public static let foreign = TestCA(commonName: "foreign-root-ca", seed: 2)

    public let authority: MeshCertificateAuthority
    private let lock = NSLock()
    private var nextSeed: UInt64 // guarded by lock

    public init(commonName: String, seed: UInt64, now: Date = Date(timeIntervalSinceNow: -3600)) {
        var generator = SeededGenerator(seed: seed)
        do {
            authority = try MeshCertificateAuthority.createRoot(commonName: commonName, now: now, using: &generator)
        } catch {
            // The inputs above are fixed and valid; a failure here is a bug in MeshIdentity.
            preconditionFailure("test CA could not be created: \(error)")
        }
        nextSeed = seed &* 1_000_003
    }

    public var rootPEM: String { authority.certificatePEM }
    public var root: Certificate { authority.certificate }

    /// A workload certificate for `identity` (`sa.ns.cluster.local`), valid from `now` (default: a
    /// minute ago, so clock granularity never makes it "not yet valid") for `validity`.
    public func issue(_ identity: String, now: Date = Date(timeIntervalSinceNow: -60), validity: MeshDuration = .hours(24)) throws -> WorkloadCertificate {
        let seed = lock.withLock { () -> UInt64 in
            nextSeed &+= 1
            return nextSeed
        }
        var generator = SeededGenerator(seed: seed)
        return try authority.issue(for: ServiceIdentity(parsing: identity), now: now, validity: validity, using: &generator)
    }

    /// Writes `certificate` as `<name>.crt`, `<name>.key` and `<name>-ca.crt` in `directory`
    /// (atomically, so a sidecar polling the files never reads half of one).
    @discardableResult
    public static func write(_ certificate: WorkloadCertificate, to directory: URL, name: String) throws -> TestCertificateFiles {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let files = TestCertificateFiles(
            certificatePath: directory.appendingPathComponent("\(name).crt").path,
            privateKeyPath: directory.appendingPathComponent("\(name).key").path,
            caPath: directory.appendingPathComponent("\(name)-ca.crt").path
        )
        try Data(certificate.certificatePEM.utf8).write(to: URL(fileURLWithPath: files.certificatePath), options: .atomic)
        try Data(certificate.privateKeyPEM.utf8).write(to: URL(fileURLWithPath: files.privateKeyPath), options: .atomic)
        try Data(certificate.issuerPEM.utf8).write(to: URL(fileURLWithPath: files.caPath), options: .atomic)
        return files
    }
}
