import Foundation
import MeshModel
import SimCore

/// A Secret text real mode must turn into a certificate or key but cannot read as PEM refuses the
/// run before anything starts, with the place in the scenario file (never a TLS library's error).
extension RealSecretCertificates {
    /// The keys of each Secret real mode reads: `tls.crt`, `ca.crt`, `tls.key`, and the
    /// certificate key a `tls-echo` app names (with the key beside it).
    static func checkPEM(_ secrets: [Secret], scenario: Scenario) throws(RealModeError) {
        var appKeys: [String: Set<String>] = [:]
        for spec in Array(scenario.apps.values) + scenario.externalHosts.map(\.app) where spec.model == .tlsEcho {
            guard let name = spec.options["secret"] else { continue }
            appKeys[name, default: []].insert(spec.options["certificateKey"] ?? Secret.certificateKey)
        }
        for secret in secrets {
            let name = "\(secret.metadata.namespace)/\(secret.metadata.name)"
            let certificateKeys = Set([Secret.certificateKey, Secret.caKey]).union(appKeys[name] ?? [])
            for key in secret.data.keys.sorted() {
                guard let text = secret.text(key) else { continue }
                let problem: String? = if certificateKeys.contains(key) {
                    text.contains(PEMLabel.certificate.begin) && text.contains(PEMLabel.certificate.end) ? nil : "a PEM certificate (\(PEMLabel.certificate.begin) ... \(PEMLabel.certificate.end))"
                } else if key == Secret.privateKeyKey {
                    text.contains("-----BEGIN") && text.contains(PEMLabel.privateKeyMarker) ? nil : "a PEM private key (-----BEGIN PRIVATE KEY----- ...)"
                } else {
                    nil
                }
                guard let problem else { continue }
                let place = Self.location(of: secret, key: key, file: scenario.file).map { "\($0): " } ?? "scenario \(scenario.name): "
                throw .setup("\(place)Secret \(name) key \(key): expected \(problem); real mode makes a real certificate of each one")
            }
        }
    }

    /// Where `key` of `secret` is written in the scenario file: the key's line after the line
    /// naming the Secret (nil when the file cannot be read or does not show it).
    static func location(of secret: Secret, key: String, file: String) -> SourceLocation? {
        guard !file.isEmpty, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var sawKind = false
        var named: Int?
        for (index, line) in lines.enumerated() {
            if line.contains("kind: Secret") {
                sawKind = true
                named = nil
            } else if line.contains("kind:") {
                sawKind = false
            }
            if sawKind, named == nil, line.contains("name: \(secret.metadata.name)") { named = index }
            if named != nil, let column = line.range(of: "\(key):").map({ line.distance(from: line.startIndex, to: $0.lowerBound) + 1 }) {
                return SourceLocation(file: file, line: index + 1, column: column)
            }
        }
        return nil
    }
}
