@_spi(FixedExpiryValidationTime) import X509
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SwiftASN1

/// Checks a peer's certificate chain against the mesh root at a given time and names the peer's
/// identity. Expiry is checked first so that an expired or not-yet-valid certificate says so; the
/// chain itself is then validated by swift-certificates' `Verifier` (RFC 5280: signatures, CA
/// constraints, validity of every certificate at `now`).
public struct PeerCertificateVerifier: Sendable {
    public let root: Certificate

    public init(root: Certificate) {
        self.root = root
    }

    public init(rootPEM: String) throws(IdentityError) {
        self.init(root: try PEMCoding.certificate(rootPEM, what: "mesh root CA certificate"))
    }

    /// `chain` is the peer's leaf first, then any intermediates (as sent in a TLS handshake).
    /// Returns the leaf's mesh identity.
    public func verify(chain: [Certificate], at now: Date) async throws(IdentityError) -> ServiceIdentity {
        guard let leaf = chain.first else { throw .emptyChain }
        let subject = leaf.subject.description
        if now < leaf.notValidBefore {
            throw .notYetValid(subject: subject, notBefore: Self.format(leaf.notValidBefore), now: Self.format(now))
        }
        if now > leaf.notValidAfter {
            throw .expired(subject: subject, notAfter: Self.format(leaf.notValidAfter), now: Self.format(now))
        }
        var verifier = Verifier(rootCertificates: CertificateStore([root])) {
            RFC5280Policy(fixedExpiryValidationTime: now)
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(chain.dropFirst()))
        switch result {
        case .validCertificate:
            return try Self.identity(of: leaf)
        case .couldNotValidate(let failures):
            let reason = failures.first.map { "\($0.policyFailureReason)" }
                ?? "no chain leads to the mesh root \(root.subject) (issuer is \(leaf.issuer))"
            throw .untrusted(subject: subject, reason: reason)
        }
    }

    /// The mesh identity a certificate names: its first DNS SAN of the form `sa.ns.<trust domain>`.
    public static func identity(of certificate: Certificate) throws(IdentityError) -> ServiceIdentity {
        let names = try? certificate.extensions.subjectAlternativeNames
        for name in names ?? SubjectAlternativeNames() {
            if case .dnsName(let dns) = name, let identity = try? ServiceIdentity(parsing: dns) { return identity }
        }
        throw .noMeshIdentity(subject: certificate.subject.description)
    }

    /// The mesh identity in a DER-encoded certificate (as a TLS library hands it over), nil when
    /// it is not a certificate or names no mesh identity.
    public static func identity(ofDER der: [UInt8]) -> ServiceIdentity? {
        guard let certificate = try? Certificate(derEncoded: der) else { return nil }
        return try? identity(of: certificate)
    }

    static func format(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
