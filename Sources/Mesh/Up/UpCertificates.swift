import Foundation
import MeshIdentity
import MeshModel
import MeshRuntime

/// Until the controller issues certificates itself: a CA in `<state dir>/ca` and one workload
/// certificate per service identity in `<state dir>/certs/<identity>/`, handed to each sidecar as
/// `--cert/--key/--ca`. Replace this one function when `fsm sidecar --controller` fetches its own.
enum UpCertificates {
    static func issue(identities: Set<String>, stateDirectory: String, validity: MeshDuration = .hours(24 * 30)) throws -> [String: PeerCertificateFiles] {
        var generator = SystemRandomNumberGenerator()
        let now = Date()
        let ca = try MeshCertificateAuthority.createRoot(now: now, using: &generator)
        let root = URL(fileURLWithPath: stateDirectory)
        let caDirectory = root.appendingPathComponent("ca")
        try FileManager.default.createDirectory(at: caDirectory, withIntermediateDirectories: true)
        try write(ca.certificatePEM, to: caDirectory.appendingPathComponent("ca.crt"), secret: false)
        try write(ca.privateKeyPEM, to: caDirectory.appendingPathComponent("private.key"), secret: true)
        var files: [String: PeerCertificateFiles] = [:]
        for identity in identities.sorted() {
            let workload = try ca.issue(for: try ServiceIdentity(parsing: identity), now: now, validity: validity, using: &generator)
            let directory = root.appendingPathComponent("certs").appendingPathComponent(identity)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let key = directory.appendingPathComponent("tls.key"), cert = directory.appendingPathComponent("tls.crt"), caFile = directory.appendingPathComponent("ca.crt")
            try write(workload.privateKeyPEM, to: key, secret: true)
            try write(workload.issuerPEM, to: caFile, secret: false)
            try write(workload.certificatePEM, to: cert, secret: false)
            files[identity] = PeerCertificateFiles(certificatePath: cert.path, privateKeyPath: key.path, caPath: caFile.path)
        }
        return files
    }

    private static func write(_ text: String, to url: URL, secret: Bool) throws {
        try Data(text.utf8).write(to: url, options: .atomic)
        if secret { try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path) }
    }
}
