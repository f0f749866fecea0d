import ArgumentParser
import Foundation
import MeshControlPlane
import MeshIdentity
import MeshModel
import X509

/// `fsm ca init` and `fsm ca issue`: a file-based mesh CA (the wall clock and the system random
/// generator are fine here; the library itself takes both from its caller).
struct CACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "The mesh certificate authority: create a root, issue workload certificates.",
        subcommands: [Init.self, Issue.self]
    )

    /// The files of a CA directory, named like FSM's `fsm-ca-bundle` secret keys (and like the
    /// controller's state directory, so `fsm controller --state-dir DIR` can use a DIR made here).
    static let caCertificateFile = ControllerStateDirectory.caCertificateFile
    static let caKeyFile = ControllerStateDirectory.caKeyFile
    /// The files of a workload directory, named like a Kubernetes TLS secret.
    static let workloadCertificateFile = "tls.crt"
    static let workloadKeyFile = "tls.key"

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a self-signed root CA (P-256) in DIR: ca.crt and private.key.")

        @Option(help: "Directory to write ca.crt and private.key (0600) into (created 0700 if missing).")
        var out: String

        @Option(help: "The root's common name.")
        var commonName = MeshCertificateAuthority.defaultCommonName

        @Option(help: "How long the root is valid (Go duration, e.g. 87600h).")
        var validity = "87600h"

        @Flag(help: "Replace an existing CA in DIR.")
        var force = false

        func run() throws {
            let duration = try parseValidity(validity)
            let directory = URL(fileURLWithPath: out)
            let keyPath = directory.appendingPathComponent(CACommand.caKeyFile).path
            if !force, FileManager.default.fileExists(atPath: keyPath) {
                throw ValidationError("\(keyPath) exists: a new root would invalidate every certificate it issued (use --force to replace it)")
            }
            var generator = SystemRandomNumberGenerator()
            let ca = try MeshCertificateAuthority.createRoot(commonName: commonName, now: Date(), validity: duration, using: &generator)
            try SecretFile.createDirectory(directory.path, narrowExisting: false)
            // Certificate first, key last: a directory with a key holds a complete CA.
            try writeFile(ca.certificatePEM, to: directory.appendingPathComponent(CACommand.caCertificateFile), secret: false)
            try writeFile(ca.privateKeyPEM, to: directory.appendingPathComponent(CACommand.caKeyFile), secret: true)
            print("root CA \(ca.certificate.subject) valid until \(ca.certificate.notValidAfter.formatted(.iso8601)) written to \(directory.path)")
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a workload certificate for a service identity: tls.crt, tls.key and ca.crt in DIR.")

        @Option(help: "The service identity: <serviceaccount>.<namespace>.cluster.local")
        var identity: String

        @Option(help: "The CA directory (from `fsm ca init`).")
        var ca: String

        @Option(help: "Directory to write tls.crt, tls.key (0600) and ca.crt into (created 0700 if missing).")
        var out: String

        @Option(help: "Validity (Go duration); the MeshConfig default serviceCertValidityDuration is 24h.")
        var validity = MeshConfig.Certificate().serviceCertValidityDuration.description

        func run() throws {
            let duration = try parseValidity(validity)
            let serviceIdentity = try ServiceIdentity(parsing: identity)
            let caDirectory = URL(fileURLWithPath: ca)
            let authority = try MeshCertificateAuthority(
                certificatePEM: readFile(caDirectory.appendingPathComponent(CACommand.caCertificateFile)),
                privateKeyPEM: readSecretFile(caDirectory.appendingPathComponent(CACommand.caKeyFile))
            )
            var generator = SystemRandomNumberGenerator()
            let workload = try authority.issue(for: serviceIdentity, now: Date(), validity: duration, using: &generator)
            let directory = URL(fileURLWithPath: out)
            try SecretFile.createDirectory(directory.path, narrowExisting: false)
            // Key first, certificate last: a sidecar polling the files sees the new pair complete soonest.
            try writeFile(workload.privateKeyPEM, to: directory.appendingPathComponent(CACommand.workloadKeyFile), secret: true)
            try writeFile(workload.issuerPEM, to: directory.appendingPathComponent(CACommand.caCertificateFile), secret: false)
            try writeFile(workload.certificatePEM, to: directory.appendingPathComponent(CACommand.workloadCertificateFile), secret: false)
            print("certificate for \(serviceIdentity) (serial \(workload.serialNumberHex)) valid until \(workload.notValidAfter.formatted(.iso8601)), renewal due from \(workload.renewalTime.formatted(.iso8601)); written to \(directory.path)")
        }
    }
}

private func parseValidity(_ text: String) throws -> MeshDuration {
    guard let duration = MeshDuration(parsing: text), duration >= .seconds(1) else {
        throw ValidationError("invalid --validity '\(text)': expected a Go duration of at least 1s, e.g. 24h or 1h30m")
    }
    return duration
}

func readFile(_ url: URL) throws -> String {
    guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
        throw ValidationError("cannot read \(url.path)")
    }
    return text
}

/// A private key, refused when others may read it (`SecretFile.read`).
func readSecretFile(_ url: URL) throws -> String {
    String(decoding: try SecretFile.read(url.path), as: UTF8.self)
}

/// Writes atomically with its mode from creation, whatever the umask: private keys 0600,
/// certificates 0644.
func writeFile(_ text: String, to url: URL, secret: Bool) throws {
    try SecretFile.write(text, to: url.path, mode: secret ? SecretFile.fileMode : SecretFile.publicFileMode)
}
