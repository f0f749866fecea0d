import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MeshModel
import SwiftASN1
import X509

/// The mesh's certificate authority: a self-signed P-256 root that signs workload certificates.
/// It never reads a clock or a global random source: the current time, key material and serial
/// numbers come from the caller, so a seeded generator and a fixed time give the same keys,
/// names, serials and validity every time (ECDSA signatures themselves are randomized by
/// BoringSSL, so the signature bytes differ between runs).
public struct MeshCertificateAuthority: Sendable {
    /// The root's subject common name (FSM's Tresor root is a self-signed CA; its name is not given
    /// by the guides).
    public static let defaultCommonName = "fsm-root-ca"
    /// Tresor's self-signed root lasts a decade.
    public static let defaultRootValidity = MeshDuration.hours(24 * 3650)

    public let certificate: Certificate
    let privateKey: P256.Signing.PrivateKey

    /// A CA from an existing root certificate and its key (for example read from `ca.crt` and
    /// `private.key`). The key must belong to the certificate, and the certificate must be a CA.
    public init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) throws(IdentityError) {
        guard certificate.publicKey == Certificate.PublicKey(privateKey.publicKey) else {
            throw .invalidPEM(what: "CA private key", reason: "it does not belong to the CA certificate \(certificate.subject)")
        }
        guard case .isCertificateAuthority? = try? certificate.extensions.basicConstraints else {
            throw .invalidPEM(what: "CA certificate", reason: "\(certificate.subject) is not a certificate authority (basicConstraints CA:TRUE missing)")
        }
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// Reads a CA from PEM text (`ca.crt`, `private.key`).
    public init(certificatePEM: String, privateKeyPEM: String) throws(IdentityError) {
        try self.init(certificate: PEMCoding.certificate(certificatePEM, what: "CA certificate"),
                      privateKey: PEMCoding.privateKey(privateKeyPEM, what: "CA private key"))
    }

    /// Creates a new self-signed root CA valid from `now` (rounded down to the second) for `validity`.
    /// `subjectAltNames`: DNS names the root also serves TLS for (a self-signed server certificate
    /// that clients trust as its own CA, as `openssl req -x509` makes; none for a mesh root).
    public static func createRoot(
        commonName: String = defaultCommonName,
        subjectAltNames: [String] = [],
        now: Date,
        validity: MeshDuration = defaultRootValidity,
        privateKey: P256.Signing.PrivateKey,
        serialNumber: Certificate.SerialNumber
    ) throws(IdentityError) -> MeshCertificateAuthority {
        let (notBefore, notAfter) = try validityWindow(now: now, validity: validity)
        let publicKey = Certificate.PublicKey(privateKey.publicKey)
        do {
            let name = try DistinguishedName {
                OrganizationName("flomesh.io")
                CommonName(commonName)
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
                if !subjectAltNames.isEmpty { SubjectAlternativeNames(subjectAltNames.map { GeneralName.dnsName($0) }) }
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: serialNumber, publicKey: publicKey,
                notValidBefore: notBefore, notValidAfter: notAfter, issuer: name, subject: name,
                signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
                issuerPrivateKey: Certificate.PrivateKey(privateKey)
            )
            return try MeshCertificateAuthority(certificate: certificate, privateKey: privateKey)
        } catch let error as IdentityError {
            throw error
        } catch {
            throw .signingFailed("\(error)")
        }
    }

    /// Creates a new root with its key and serial drawn from `generator`.
    public static func createRoot(
        commonName: String = defaultCommonName,
        subjectAltNames: [String] = [],
        now: Date,
        validity: MeshDuration = defaultRootValidity,
        using generator: inout some RandomNumberGenerator
    ) throws(IdentityError) -> MeshCertificateAuthority {
        let key = KeyGeneration.p256PrivateKey(using: &generator)
        let serial = KeyGeneration.serialNumber(using: &generator)
        return try createRoot(commonName: commonName, subjectAltNames: subjectAltNames, now: now, validity: validity, privateKey: key, serialNumber: serial)
    }

    public var certificatePEM: String { PEMCoding.pem(certificate) }
    public var privateKeyPEM: String { privateKey.pemRepresentation }

    /// Issues a workload certificate for `identity` with the given key, valid from `now` (rounded
    /// down to the second) for `validity` — the MeshConfig's `certificate.serviceCertValidityDuration`.
    /// The identity goes into the subject CN and the SAN (DNS name and SPIFFE URI).
    public func issue(
        for identity: ServiceIdentity,
        now: Date,
        validity: MeshDuration,
        privateKey workloadKey: P256.Signing.PrivateKey,
        serialNumber: Certificate.SerialNumber
    ) throws(IdentityError) -> WorkloadCertificate {
        let leaf = try issueCertificate(for: identity, now: now, validity: validity,
                                        publicKey: Certificate.PublicKey(workloadKey.publicKey), serialNumber: serialNumber)
        return WorkloadCertificate(identity: identity, certificate: leaf, privateKey: workloadKey, issuer: certificate)
    }

    /// Issues the certificate for a key the CA never sees (the workload's, from its CSR).
    public func issueCertificate(
        for identity: ServiceIdentity,
        now: Date,
        validity: MeshDuration,
        publicKey: Certificate.PublicKey,
        serialNumber: Certificate.SerialNumber
    ) throws(IdentityError) -> Certificate {
        var (notBefore, notAfter) = try Self.validityWindow(now: now, validity: validity)
        // A leaf cannot outlive its root (the chain would fail before the leaf says so).
        if notAfter > certificate.notValidAfter { notAfter = certificate.notValidAfter }
        guard notAfter > notBefore else {
            throw .invalidValidity("the CA \(certificate.subject) is no longer valid at \(notBefore)")
        }
        do {
            let subject = try DistinguishedName {
                OrganizationName("flomesh.io")
                CommonName(identity.dnsName)
            }
            let caKeyID = (try? certificate.extensions.subjectKeyIdentifier)?.keyIdentifier
                ?? SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames([.dnsName(identity.dnsName), .uniformResourceIdentifier(identity.spiffeID)])
                AuthorityKeyIdentifier(keyIdentifier: caKeyID)
                SubjectKeyIdentifier(hash: publicKey)
            }
            return try Certificate(
                version: .v3, serialNumber: serialNumber, publicKey: publicKey,
                notValidBefore: notBefore, notValidAfter: notAfter, issuer: certificate.subject, subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions,
                issuerPrivateKey: Certificate.PrivateKey(privateKey)
            )
        } catch {
            throw .signingFailed("\(error)")
        }
    }

    /// Issues a workload certificate with a fresh key and serial drawn from `generator`.
    public func issue(
        for identity: ServiceIdentity,
        now: Date,
        validity: MeshDuration,
        using generator: inout some RandomNumberGenerator
    ) throws(IdentityError) -> WorkloadCertificate {
        let key = KeyGeneration.p256PrivateKey(using: &generator)
        let serial = KeyGeneration.serialNumber(using: &generator)
        return try issue(for: identity, now: now, validity: validity, privateKey: key, serialNumber: serial)
    }

    /// Issues with the MeshConfig's `certificate.serviceCertValidityDuration`.
    public func issue(
        for identity: ServiceIdentity,
        now: Date,
        meshConfig: MeshConfig,
        using generator: inout some RandomNumberGenerator
    ) throws(IdentityError) -> WorkloadCertificate {
        try issue(for: identity, now: now, validity: meshConfig.certificate.serviceCertValidityDuration, using: &generator)
    }

    /// X.509 times have whole seconds: the window starts at `now` rounded down so that a certificate
    /// read back from PEM has exactly the dates it was issued with.
    static func validityWindow(now: Date, validity: MeshDuration) throws(IdentityError) -> (Date, Date) {
        guard validity.nanoseconds >= 1_000_000_000 else {
            throw .invalidValidity("\(validity) is shorter than one second")
        }
        let start = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let seconds = (Double(validity.nanoseconds) / 1e9).rounded(.down)
        let end = start.addingTimeInterval(seconds)
        // UTCTime/GeneralizedTime stop at year 9999.
        guard end < Date(timeIntervalSince1970: 253_402_300_799) else {
            throw .invalidValidity("\(validity) from \(start) ends after the year 9999")
        }
        return (start, end)
    }
}

/// A workload's certificate and key, with the root that issued it.
public struct WorkloadCertificate: Sendable {
    public let identity: ServiceIdentity
    public let certificate: Certificate
    public let privateKey: P256.Signing.PrivateKey
    /// The issuing root (written next to the certificate as `ca.crt`).
    public let issuer: Certificate

    public init(identity: ServiceIdentity, certificate: Certificate, privateKey: P256.Signing.PrivateKey, issuer: Certificate) {
        self.identity = identity
        self.certificate = certificate
        self.privateKey = privateKey
        self.issuer = issuer
    }

    /// Reads a workload certificate back from PEM (`tls.crt`, `tls.key`, `ca.crt`); the identity
    /// comes from the certificate's SAN.
    public init(certificatePEM: String, privateKeyPEM: String, issuerPEM: String) throws(IdentityError) {
        let certificate = try PEMCoding.certificate(certificatePEM, what: "workload certificate")
        let key = try PEMCoding.privateKey(privateKeyPEM, what: "workload private key")
        guard certificate.publicKey == Certificate.PublicKey(key.publicKey) else {
            throw .invalidPEM(what: "workload private key", reason: "it does not belong to the certificate \(certificate.subject)")
        }
        self.init(identity: try PeerCertificateVerifier.identity(of: certificate), certificate: certificate, privateKey: key,
                  issuer: try PEMCoding.certificate(issuerPEM, what: "CA certificate"))
    }

    /// The serial number in hex (for logs and admin pages).
    public var serialNumberHex: String {
        certificate.serialNumber.bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    public var notValidBefore: Date { certificate.notValidBefore }
    public var notValidAfter: Date { certificate.notValidAfter }

    /// When renewal becomes due: once less than a third of the validity is left (for the default
    /// 24h, 8h before expiry), which leaves two retries' worth of time if the CA is briefly away.
    public var renewalTime: Date {
        let lifetime = notValidAfter.timeIntervalSince(notValidBefore)
        return notValidAfter.addingTimeInterval(-lifetime / 3)
    }

    public func renewalDue(now: Date) -> Bool { now >= renewalTime }

    public var certificatePEM: String { PEMCoding.pem(certificate) }
    public var privateKeyPEM: String { privateKey.pemRepresentation }
    public var issuerPEM: String { PEMCoding.pem(issuer) }
}

/// Key and serial generation from a caller's generator.
public enum KeyGeneration {
    /// A P-256 private key from 32 bytes of `generator` (a draw outside the curve order, about one
    /// in 2^32, is discarded and drawn again).
    public static func p256PrivateKey(using generator: inout some RandomNumberGenerator) -> P256.Signing.PrivateKey {
        while true {
            var bytes = [UInt8]()
            bytes.reserveCapacity(32)
            for _ in 0..<4 { withUnsafeBytes(of: generator.next().bigEndian) { bytes.append(contentsOf: $0) } }
            if let key = try? P256.Signing.PrivateKey(rawRepresentation: bytes) { return key }
        }
    }

    /// A positive 127-bit serial number (RFC 5280 allows up to 20 octets; 16 with the top bit clear
    /// stays positive without a padding byte).
    public static func serialNumber(using generator: inout some RandomNumberGenerator) -> Certificate.SerialNumber {
        var bytes = [UInt8]()
        bytes.reserveCapacity(16)
        for _ in 0..<2 { withUnsafeBytes(of: generator.next().bigEndian) { bytes.append(contentsOf: $0) } }
        bytes[0] = (bytes[0] & 0x7F) | 0x40 // positive, and never a leading zero byte
        return Certificate.SerialNumber(bytes: bytes)
    }
}

/// PEM reading and writing with the mesh's errors.
public enum PEMCoding {
    public static func pem(_ certificate: Certificate) -> String {
        // Serializing a certificate we hold (parsed or built) cannot fail; keep an empty string
        // rather than crash if it ever did.
        (try? certificate.serializeAsPEM().pemString).map { $0 + "\n" } ?? ""
    }

    /// The first certificate in `text`.
    public static func certificate(_ text: String, what: String) throws(IdentityError) -> Certificate {
        guard let first = try certificates(text, what: what).first else {
            throw .invalidPEM(what: what, reason: "no CERTIFICATE block")
        }
        return first
    }

    /// Every CERTIFICATE block in `text`, in order (a leaf followed by its chain).
    public static func certificates(_ text: String, what: String) throws(IdentityError) -> [Certificate] {
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw .invalidPEM(what: what, reason: "not PEM (\(error))")
        }
        var result: [Certificate] = []
        for document in documents where document.discriminator == "CERTIFICATE" {
            do {
                result.append(try Certificate(pemDocument: document))
            } catch {
                throw .invalidPEM(what: what, reason: "malformed certificate (\(error))")
            }
        }
        guard !result.isEmpty else { throw .invalidPEM(what: what, reason: "no CERTIFICATE block") }
        return result
    }

    /// A P-256 key in PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) PEM.
    public static func privateKey(_ text: String, what: String) throws(IdentityError) -> P256.Signing.PrivateKey {
        do {
            return try P256.Signing.PrivateKey(pemRepresentation: text)
        } catch {
            throw .invalidPEM(what: what, reason: "not a P-256 private key in PEM (\(error))")
        }
    }
}
