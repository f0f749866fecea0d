import MeshModel

/// A certificate as the simulator models it: by the PEM texts its Secret carries, compared as text,
/// never parsed (SimCore has no X.509 or crypto; DECISIONS 185). The certificate is the Secret's
/// `tls.crt` (or the key a tls-echo app names); it was issued by the CA in the same Secret's
/// `ca.crt`, and is self-signed when the Secret has none. An external host's tls-echo without a
/// Secret presents a publicly trusted certificate for its own host name.
struct ModelledCertificate: Hashable, Sendable {
    /// The certificate's PEM text; empty for a public certificate.
    var certificate: String
    /// The PEM text of the CA that issued it.
    var issuer: String
    /// The host name of a publicly trusted certificate (nil: issued by a Secret's CA).
    var publicHost: String?

    /// `key` of `secret` (nil when the Secret lacks it), issued by its `ca.crt` or by itself.
    init?(secret: Secret, key: String = Secret.certificateKey) {
        guard let pem = secret.text(key) else { return nil }
        certificate = pem
        issuer = secret.text(Secret.caKey) ?? pem
    }

    /// A certificate the controller put in a gateway config (its Secret is found again for the issuer).
    init(certificatePEM: String, secret: Secret?) {
        certificate = certificatePEM
        issuer = secret?.text(Secret.caKey) ?? certificatePEM
    }

    /// A certificate a public CA issued for `host` (a real httpbin.org's).
    init(publicHost host: String) {
        certificate = ""
        issuer = ""
        publicHost = host
    }
}

/// What a TLS client trusts when it verifies a server (curl's `--cacert`, `-k`, or the system roots).
enum TLSTrust: Hashable, Sendable {
    /// `-k`: any certificate.
    case insecure
    /// `--cacert`: certificates that CA (a `ca.crt` PEM text) issued.
    case anchor(String)
    /// No CA given: the public roots, which trust public certificates for the name asked.
    case publicRoots
}
