import Foundation
import MeshIdentity
import MeshModel
import SimCore

/// Real certificates for the certificates a scenario's Secrets model by their PEM texts
/// (DECISIONS 185, 204). The simulator compares texts; a real TLS stack needs real certificates
/// whose chain the same texts describe, so before a real run every certificate text becomes one
/// real certificate (the same text in two Secrets: the same certificate), issued as the texts say:
/// a certificate whose Secret has a `ca.crt` (another text) is issued by that CA, else it is
/// self-signed; a text used as a `ca.crt` is a CA. Each Secret's private key becomes the key of
/// the certificate beside it. External `tls-echo` hosts without a Secret present a certificate
/// for their host name from the run's public root, the only root the run's clients trust when a
/// load names no CA. Keys never leave the process except through `SecretFile` (0600).
struct RealSecretCertificates {
    /// A real certificate and its key, as PEM.
    struct Issued: Equatable {
        var certificatePEM: String
        var privateKeyPEM: String
    }

    /// The modelled certificate texts → their real certificates.
    private(set) var byText: [String: Issued] = [:]
    /// The root that issued the external hosts' public certificates.
    let publicRoot: Issued
    /// External `tls-echo` hosts without a Secret: host name → its public certificate.
    private(set) var publicHosts: [String: Issued] = [:]
    /// The DNS names every Secret's certificate carries (DECISIONS 204).
    let serverNames: [String]

    init(scenario: Scenario, now: Date = Date(timeIntervalSinceNow: -60)) throws(RealModeError) {
        var generator = SystemRandomNumberGenerator()
        let secrets = Self.secrets(of: scenario)
        try Self.checkPEM(secrets, scenario: scenario)
        serverNames = Self.serverNames(of: scenario)
        do {
            let root = try MeshCertificateAuthority.createRoot(commonName: "sim-real public root", now: now, using: &generator)
            publicRoot = Issued(certificatePEM: root.certificatePEM, privateKeyPEM: root.privateKeyPEM)
            for host in scenario.externalHosts where host.app.model == .tlsEcho && host.app.options["secret"] == nil {
                let leaf = try root.issueServerCertificate(dnsNames: [host.host], now: now, validity: Self.validity, using: &generator)
                publicHosts[host.host.lowercased()] = Issued(certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM)
            }
            var issuer = CertificateIssuer(chain: Self.chain(of: secrets), names: serverNames, now: now)
            for text in issuer.chain.keys.sorted() { _ = try issuer.make(text, using: &generator) }
            byText = issuer.made
        } catch {
            throw .setup("cannot make the certificates of scenario \(scenario.name): \(error)")
        }
    }

    /// A year: far longer than any run.
    static let validity = MeshDuration.hours(24 * 365)

    /// Every Secret of the manifests and `apply:` steps, in the file's order.
    static func secrets(of scenario: Scenario) -> [Secret] {
        let applied = scenario.steps.flatMap { step -> [Resource] in if case .apply(let resources) = step.action { resources } else { [] } }
        return (scenario.manifests + applied).compactMap { if case .secret(let secret) = $0 { secret } else { nil } }
    }

    /// The scenario's Secrets by `namespace/name` (a name defined again: its last definition).
    static func secretsByName(of scenario: Scenario) -> [String: Secret] {
        Dictionary(secrets(of: scenario).map { ("\($0.metadata.namespace)/\($0.metadata.name)", $0) }, uniquingKeysWith: { _, last in last })
    }

    /// Each certificate text → the text of the CA that issued it (itself: self-signed). A text is
    /// issued by the `ca.crt` of the first Secret that holds it beside another `ca.crt`; a text
    /// seen only as a `ca.crt` is a self-signed CA.
    static func chain(of secrets: [Secret]) -> [String: String] {
        var issuers: [String: String] = [:]
        for secret in secrets {
            let ca = secret.text(Secret.caKey)
            for (key, text) in certificateEntries(of: secret) where key != Secret.caKey {
                if let ca, ca != text {
                    // The first CA seen beside it decides (over an earlier "self-signed").
                    if issuers[text] == nil || issuers[text] == text { issuers[text] = ca }
                } else if issuers[text] == nil {
                    issuers[text] = text
                }
            }
            if let ca, issuers[ca] == nil { issuers[ca] = ca }
        }
        return issuers
    }

    /// The keys of `secret` that hold a certificate (a PEM `CERTIFICATE` block).
    static func certificateEntries(of secret: Secret) -> [(key: String, text: String)] {
        secret.data.keys.sorted().compactMap { key in
            guard let text = secret.text(key), text.contains(PEMLabel.certificate.begin) else { return nil }
            return (key, text)
        }
    }

    /// The names a client verifies against (curl's rule): each https:// load's server name (its
    /// SNI, else its URL's host) and each Host header a load sends, in name order.
    static func serverNames(of scenario: Scenario) -> [String] {
        var names: Set<String> = []
        for load in scenario.loadSpecs {
            guard let url = try? LoadURL(parsing: load.url) else { continue }
            if url.scheme == .https { names.insert((load.tls?.sni ?? url.host).lowercased()) }
            if let host = load.headers.first(where: { $0.name.lowercased() == "host" })?.value {
                names.insert(String(host.split(separator: ":", omittingEmptySubsequences: false)[0]).lowercased())
            }
        }
        // Names only: an address is not a DNS SAN (and no scenario verifies one).
        return names.filter { name in !name.isEmpty && !name.allSatisfy { $0.isNumber || $0 == "." } }.sorted()
    }

    /// `secret` with each certificate text replaced by its real certificate and each private key
    /// by the key of the certificate beside it.
    func rewritten(_ secret: Secret) -> Secret {
        var secret = secret
        let leaf = Self.certificateEntries(of: secret).first { $0.key != Secret.caKey }.flatMap { byText[$0.text] }
        for key in secret.data.keys.sorted() {
            guard let text = secret.text(key) else { continue }
            if let real = byText[text] {
                secret.data[key] = Array(real.certificatePEM.utf8)
            } else if text.contains(PEMLabel.privateKeyMarker), let leaf {
                secret.data[key] = Array(leaf.privateKeyPEM.utf8)
            }
        }
        return secret
    }

    /// The scenario with every Secret (manifests and `apply:` steps) rewritten.
    func rewritten(_ scenario: Scenario) -> Scenario {
        var scenario = scenario
        func rewrite(_ resource: Resource) -> Resource {
            if case .secret(let secret) = resource { return .secret(rewritten(secret)) }
            return resource
        }
        scenario.manifests = scenario.manifests.map(rewrite)
        for index in scenario.steps.indices {
            if case .apply(let resources) = scenario.steps[index].action { scenario.steps[index].action = .apply(resources.map(rewrite)) }
        }
        return scenario
    }
}

/// The PEM markers real mode reads a Secret's texts by.
enum PEMLabel {
    case certificate

    var begin: String { "-----BEGIN CERTIFICATE-----" }
    var end: String { "-----END CERTIFICATE-----" }

    /// `-----BEGIN PRIVATE KEY-----`, `-----BEGIN EC PRIVATE KEY-----`, `-----BEGIN RSA PRIVATE KEY-----`.
    static let privateKeyMarker = "PRIVATE KEY-----"
}

/// Makes the certificates of a chain map, each once, CAs before what they issue.
private struct CertificateIssuer {
    let chain: [String: String]
    let names: [String]
    let now: Date
    private(set) var made: [String: RealSecretCertificates.Issued] = [:]
    private var authorities: [String: MeshCertificateAuthority] = [:]
    private var count = 0

    init(chain: [String: String], names: [String], now: Date) {
        self.chain = chain
        self.names = names
        self.now = now
    }

    /// The certificate of `text`, made after its issuer; a cycle of issuers ends in a self-signed one.
    mutating func make(_ text: String, using generator: inout SystemRandomNumberGenerator, visiting: Set<String> = []) throws -> MeshCertificateAuthority? {
        if let authority = authorities[text] { return authority }
        if made[text] != nil { return nil }
        count += 1
        let issuerText = chain[text] ?? text
        if issuerText != text, !visiting.contains(issuerText),
           let issuer = try make(issuerText, using: &generator, visiting: visiting.union([text])) {
            // Server and client authentication: a Secret's certificate may be either (gateway mTLS).
            let leaf = try issuer.issueAccessCertificate(subjectAltNames: names.isEmpty ? ["sim-real-\(count).invalid"] : names, now: now,
                                                         validity: RealSecretCertificates.validity, using: &generator)
            made[text] = RealSecretCertificates.Issued(certificatePEM: leaf.certificatePEM, privateKeyPEM: leaf.privateKeyPEM)
            return nil
        }
        // Self-signed: a CA (it may issue others) that also serves the names (`openssl req -x509`).
        let root = try MeshCertificateAuthority.createRoot(commonName: "sim-real certificate \(count)", subjectAltNames: names, now: now,
                                                           validity: RealSecretCertificates.validity, using: &generator)
        authorities[text] = root
        made[text] = RealSecretCertificates.Issued(certificatePEM: root.certificatePEM, privateKeyPEM: root.privateKeyPEM)
        return root
    }
}
