import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MeshModel
import SwiftASN1
import X509

/// A TLS server certificate for a control-plane endpoint (the injection webhook, which the API
/// server reaches as `fsm-injector.<namespace>.svc`), issued by the mesh CA.
public struct ServerCertificate: Sendable {
    public let certificate: Certificate
    public let privateKey: P256.Signing.PrivateKey
    public let issuer: Certificate

    public var certificatePEM: String { PEMCoding.pem(certificate) }
    public var privateKeyPEM: String { privateKey.pemRepresentation }
    /// The CA bundle a client (the webhook configuration's `caBundle`) trusts it with.
    public var issuerPEM: String { PEMCoding.pem(issuer) }

    public var serialNumberHex: String {
        certificate.serialNumber.bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Renewal is due once less than a third of the validity is left (as for workload certificates).
    public var renewalTime: Date {
        let lifetime = certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore)
        return certificate.notValidAfter.addingTimeInterval(-lifetime / 3)
    }
}

extension MeshCertificateAuthority {
    /// A server certificate for `dnsNames` (the first is the subject CN) and `ipAddresses`
    /// (dotted IPv4), valid from `now` for `validity`, with a fresh key and serial from `generator`.
    public func issueServerCertificate(
        dnsNames: [String],
        ipAddresses: [String] = [],
        now: Date,
        validity: MeshDuration,
        usages: [ExtendedKeyUsage.Usage] = [.serverAuth],
        using generator: inout some RandomNumberGenerator
    ) throws(IdentityError) -> ServerCertificate {
        guard let commonName = dnsNames.first else { throw .signingFailed("a server certificate needs at least one DNS name") }
        var names = dnsNames.map { GeneralName.dnsName($0) }
        for address in ipAddresses {
            guard let octets = Self.ipv4Octets(address) else { throw .signingFailed("\(address) is not an IPv4 address") }
            names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets))))
        }
        var (notBefore, notAfter) = try Self.validityWindow(now: now, validity: validity)
        if notAfter > certificate.notValidAfter { notAfter = certificate.notValidAfter }
        guard notAfter > notBefore else { throw .invalidValidity("the CA \(certificate.subject) is no longer valid at \(notBefore)") }
        let key = KeyGeneration.p256PrivateKey(using: &generator)
        let publicKey = Certificate.PublicKey(key.publicKey)
        do {
            let subject = try DistinguishedName {
                OrganizationName("flomesh.io")
                CommonName(commonName)
            }
            let caKeyID = (try? certificate.extensions.subjectKeyIdentifier)?.keyIdentifier
                ?? SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage(usages)
                SubjectAlternativeNames(names)
                AuthorityKeyIdentifier(keyIdentifier: caKeyID)
                SubjectKeyIdentifier(hash: publicKey)
            }
            let leaf = try Certificate(
                version: .v3, serialNumber: KeyGeneration.serialNumber(using: &generator), publicKey: publicKey,
                notValidBefore: notBefore, notValidAfter: notAfter, issuer: certificate.subject, subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: Certificate.PrivateKey(privateKey)
            )
            return ServerCertificate(certificate: leaf, privateKey: key, issuer: certificate)
        } catch {
            throw .signingFailed("\(error)")
        }
    }

    /// An AccessCert's certificate (demos.md 6.7): `subjectAltNames` as DNS SANs (the first is the
    /// subject CN, as FSM's single-CN certificates), for client and server authentication.
    public func issueAccessCertificate(subjectAltNames: [String], now: Date, validity: MeshDuration,
                                       using generator: inout some RandomNumberGenerator) throws(IdentityError) -> ServerCertificate {
        try issueServerCertificate(dnsNames: subjectAltNames, now: now, validity: validity, usages: [.clientAuth, .serverAuth], using: &generator)
    }

    static func ipv4Octets(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let octets = parts.compactMap { UInt8($0) }
        return octets.count == 4 ? octets : nil
    }
}
