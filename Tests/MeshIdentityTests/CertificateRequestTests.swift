import Crypto
import Foundation
import MeshIdentity
import MeshModel
import MeshTesting
import Testing
import X509

@Suite struct CertificateRequestTests {
    static let start = Date(timeIntervalSince1970: 1_750_000_000)

    @Test func requestRoundTripsThroughPEMAndNamesItsIdentity() throws {
        var generator = SeededGenerator(seed: 11)
        let key = KeyGeneration.p256PrivateKey(using: &generator)
        let identity = ServiceIdentity(serviceAccount: "bookbuyer", namespace: "bookbuyer")
        let request = try MeshCertificateRequest(identity: identity, privateKey: key)
        #expect(request.pem.hasPrefix("-----BEGIN CERTIFICATE REQUEST-----"))
        let read = try MeshCertificateRequest(pem: request.pem)
        #expect(read.requestedIdentity == "bookbuyer.bookbuyer.cluster.local")
        #expect(read.publicKey == Certificate.PublicKey(key.publicKey))
        // A request that names no identity leaves the choice to the CA.
        #expect(try MeshCertificateRequest(pem: MeshCertificateRequest(identity: nil, privateKey: key).pem).requestedIdentity == nil)
    }

    @Test func malformedOrTamperedRequestsAreRefused() throws {
        var generator = SeededGenerator(seed: 12)
        let key = KeyGeneration.p256PrivateKey(using: &generator)
        #expect(throws: IdentityError.self) { try MeshCertificateRequest(pem: "not pem") }
        #expect(throws: IdentityError.self) { try MeshCertificateRequest(pem: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n") }
        // The signature of one request over another's contents: the public key does not match.
        let other = KeyGeneration.p256PrivateKey(using: &generator)
        let genuine = try MeshCertificateRequest(identity: ServiceIdentity(serviceAccount: "a", namespace: "b"), privateKey: key).request
        let forged = try CertificateSigningRequest(
            version: .v1, subject: genuine.subject, privateKey: Certificate.PrivateKey(other),
            attributes: genuine.attributes, signatureAlgorithm: .ecdsaWithSHA256)
        #expect(forged.publicKey.isValidSignature(forged.signature, for: forged))
        #expect(!Certificate.PublicKey(key.publicKey).isValidSignature(forged.signature, for: genuine))
    }

    @Test func caIssuesForAPublicKeyItNeverHeld() throws {
        var generator = SeededGenerator(seed: 13)
        let ca = try MeshCertificateAuthority.createRoot(now: Self.start, using: &generator)
        let key = KeyGeneration.p256PrivateKey(using: &generator)
        let identity = ServiceIdentity(serviceAccount: "bookstore", namespace: "bookstore")
        let leaf = try ca.issueCertificate(for: identity, now: Self.start, validity: .seconds(90), publicKey: Certificate.PublicKey(key.publicKey),
                                           serialNumber: KeyGeneration.serialNumber(using: &generator))
        #expect(leaf.publicKey == Certificate.PublicKey(key.publicKey))
        #expect(leaf.notValidAfter.timeIntervalSince(leaf.notValidBefore) == 90)
        #expect(try PeerCertificateVerifier.identity(of: leaf) == identity)
        let workload = try WorkloadCertificate(certificatePEM: PEMCoding.pem(leaf), privateKeyPEM: key.pemRepresentation, issuerPEM: ca.certificatePEM)
        #expect(workload.identity == identity)
    }
}
