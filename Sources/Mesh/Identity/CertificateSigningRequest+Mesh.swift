import Crypto
import SwiftASN1
import X509

/// What a workload sends the controller to get its certificate: a PKCS#10 request signed with
/// the workload's own key (the key never leaves the workload), naming the identity it wants in
/// the subject common name (or nothing: then the controller names the pod's identity).
public struct MeshCertificateRequest: Sendable {
    public let request: CertificateSigningRequest
    /// The identity in the subject CN, if the request names one.
    public let requestedIdentity: String?

    /// A request for `identity` (nil: whatever the controller gives the pod) signed with `privateKey`.
    public init(identity: ServiceIdentity?, privateKey: P256.Signing.PrivateKey) throws(IdentityError) {
        do {
            let subject = try DistinguishedName {
                OrganizationName("flomesh.io")
                if let identity { CommonName(identity.dnsName) }
            }
            request = try CertificateSigningRequest(
                version: .v1, subject: subject, privateKey: Certificate.PrivateKey(privateKey),
                attributes: CertificateSigningRequest.Attributes([]), signatureAlgorithm: .ecdsaWithSHA256)
        } catch {
            throw .signingFailed("cannot build the certificate request: \(error)")
        }
        requestedIdentity = identity?.dnsName
    }

    /// Reads a request from PEM and checks its signature (proof that the sender holds the key).
    public init(pem: String) throws(IdentityError) {
        let parsed: CertificateSigningRequest
        do {
            parsed = try CertificateSigningRequest(pemEncoded: pem)
        } catch {
            throw .invalidPEM(what: "certificate request", reason: "\(error)")
        }
        guard parsed.publicKey.isValidSignature(parsed.signature, for: parsed) else {
            throw .invalidPEM(what: "certificate request", reason: "its signature does not match its public key")
        }
        request = parsed
        requestedIdentity = parsed.subject.flatMap { $0 }.first { $0.type == .RDNAttributeType.commonName }.flatMap { String($0.value) }
    }

    public var publicKey: Certificate.PublicKey { request.publicKey }

    public var pem: String {
        (try? request.serializeAsPEM().pemString).map { $0 + "\n" } ?? ""
    }
}
