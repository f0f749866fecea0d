#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MeshIdentity
import MeshModel
import MeshShell

/// What a controller-driven sidecar keeps on disk so that it can start while the controller is
/// down (`fsm sidecar --cache-dir`): the last config it accepted and its workload certificate, key
/// and mesh root. The directory is 0700 and every file 0600 from its first byte (`SecretFile`);
/// each file is replaced whole (written under a temporary name, then renamed), so a crash never
/// leaves half a file. Written whenever a new config or certificate is accepted; read only at
/// start, when the controller does not answer.
public struct SidecarCache: Sendable {
    public let directory: String

    public static let configFile = "config.json"
    public static let certificateFile = "tls.crt"
    public static let privateKeyFile = "tls.key"
    public static let caFile = "ca.crt"

    public init(directory: String) {
        self.directory = directory
    }

    func path(_ name: String) -> String { FilePaths.joined(directory, name) }

    /// Creates the directory (0700), or narrows an existing one to 0700.
    public func prepare() throws(SecretFileError) {
        try SecretFile.createDirectory(directory)
    }

    /// Keeps a config the sidecar accepted (its JSON as the controller sent it).
    func storeConfig(_ json: String) throws(SecretFileError) {
        try SecretFile.write(json, to: path(Self.configFile))
    }

    /// Keeps the workload certificate (PEM, leaf first), its private key and the mesh root.
    func storeCertificate(_ tls: PeerTLS) throws(SecretFileError) {
        guard tls.fileContents.count == 3 else { return }
        // The key last: a certificate is never left beside a key that does not belong to it for
        // long, and a load that catches them mismatched rejects them (and is retried next start).
        try SecretFile.write(tls.fileContents[2], to: path(Self.caFile))
        try SecretFile.write(tls.fileContents[0], to: path(Self.certificateFile))
        try SecretFile.write(tls.fileContents[1], to: path(Self.privateKeyFile))
    }

    /// Why a cached file is not used: one line naming the file.
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// The cached config: nil when there is none; a problem when it does not decode.
    func loadConfig() -> Result<ProxyConfig, Problem>? {
        let file = path(Self.configFile)
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        guard let text = String(data: data, encoding: .utf8) else { return .failure(Problem(description: "\(file): not UTF-8 text")) }
        do {
            return .success(try ProxyConfig(jsonText: text))
        } catch {
            return .failure(Problem(description: "\(file): \(error)"))
        }
    }

    /// The cached certificate if it is still valid at `now`: nil when there is none; a problem
    /// when the files do not load or the certificate has expired.
    func loadCertificate(now: Date) -> Result<PeerTLS, Problem>? {
        let files = PeerCertificateFiles(certificatePath: path(Self.certificateFile), privateKeyPath: path(Self.privateKeyFile), caPath: path(Self.caFile))
        guard files.paths.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) else { return nil }
        let tls: PeerTLS
        do {
            tls = try PeerTLS.load(files)
        } catch {
            return .failure(Problem(description: "\(directory): \(error)"))
        }
        guard now < tls.workload.notValidAfter else {
            return .failure(Problem(description: "\(files.certificatePath): expired at \(tls.workload.notValidAfter)"))
        }
        return .success(tls)
    }
}
