import Crypto
import Foundation
import MeshIdentity
import MeshModel
import MeshTesting
import MeshTestCA
import Testing
import X509

@Suite struct CertificateAuthorityTests {
    static let start = Date(timeIntervalSince1970: 1_750_000_000)

    static func makeCA(seed: UInt64 = 7, name: String = "fsm-root-ca") throws -> MeshCertificateAuthority {
        var generator = SeededGenerator(seed: seed)
        return try MeshCertificateAuthority.createRoot(commonName: name, now: start, using: &generator)
    }

    @Test func rootIsASelfSignedP256CAWithTheGivenValidity() throws {
        let ca = try Self.makeCA()
        #expect(ca.certificate.subject == ca.certificate.issuer)
        #expect(ca.certificate.subject.description.contains("CN=fsm-root-ca"))
        #expect(ca.certificate.notValidBefore == Self.start)
        #expect(ca.certificate.notValidAfter == Self.start.addingTimeInterval(3650 * 86400))
        #expect(try ca.certificate.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
        #expect(ca.certificate.publicKey.isValidSignature(ca.certificate.signature, for: ca.certificate))
        // Same seed, same key and serial: deterministic inputs give the same certificate fields.
        let again = try Self.makeCA()
        #expect(again.certificate.publicKey == ca.certificate.publicKey)
        #expect(again.certificate.serialNumber == ca.certificate.serialNumber)
        #expect(try Self.makeCA(seed: 8).certificate.publicKey != ca.certificate.publicKey)
    }

    @Test func caRoundTripsThroughPEM() throws {
        let ca = try Self.makeCA()
        let loaded = try MeshCertificateAuthority(certificatePEM: ca.certificatePEM, privateKeyPEM: ca.privateKeyPEM)
        #expect(loaded.certificate == ca.certificate)
        // A key from another CA is refused.
        let other = try Self.makeCA(seed: 9)
        #expect(throws: IdentityError.self) { try MeshCertificateAuthority(certificatePEM: ca.certificatePEM, privateKeyPEM: other.privateKeyPEM) }
        #expect(throws: IdentityError.self) { try MeshCertificateAuthority(certificatePEM: "garbage", privateKeyPEM: ca.privateKeyPEM) }
    }

    @Test func workloadCertificateNamesTheIdentityAndUsesTheMeshConfigValidity() throws {
        let ca = try Self.makeCA()
        var generator = SeededGenerator(seed: 100)
        var meshConfig = MeshConfig()
        meshConfig.certificate.serviceCertValidityDuration = .hours(1)
        let identity = try ServiceIdentity(parsing: "bookbuyer.bookbuyer.cluster.local")
        let now = Self.start.addingTimeInterval(10.7)
        let workload = try ca.issue(for: identity, now: now, meshConfig: meshConfig, using: &generator)
        #expect(workload.notValidBefore == Self.start.addingTimeInterval(10))
        #expect(workload.notValidAfter == Self.start.addingTimeInterval(10 + 3600))
        #expect(workload.certificate.issuer == ca.certificate.subject)
        let names = try #require(try workload.certificate.extensions.subjectAlternativeNames)
        #expect(Array(names) == [.dnsName("bookbuyer.bookbuyer.cluster.local"), .uniformResourceIdentifier("spiffe://cluster.local/ns/bookbuyer/sa/bookbuyer")])
        #expect(try PeerCertificateVerifier.identity(of: workload.certificate) == identity)
        #expect(try workload.certificate.extensions.basicConstraints == .notCertificateAuthority)
        // The default validity is the MeshConfig default: 24h.
        let daily = try ca.issue(for: identity, now: now, meshConfig: MeshConfig(), using: &generator)
        #expect(daily.notValidAfter.timeIntervalSince(daily.notValidBefore) == 86400)
        #expect(daily.certificate.serialNumber != workload.certificate.serialNumber)
    }

    @Test func workloadRoundTripsThroughPEM() throws {
        let ca = try Self.makeCA()
        var generator = SeededGenerator(seed: 5)
        let workload = try ca.issue(for: ServiceIdentity(parsing: "bookstore-v2.bookstore.cluster.local"), now: Self.start, validity: .hours(24), using: &generator)
        let loaded = try WorkloadCertificate(certificatePEM: workload.certificatePEM, privateKeyPEM: workload.privateKeyPEM, issuerPEM: workload.issuerPEM)
        #expect(loaded.certificate == workload.certificate)
        #expect(loaded.identity.dnsName == "bookstore-v2.bookstore.cluster.local")
        #expect(loaded.privateKey.rawRepresentation == workload.privateKey.rawRepresentation)
        let otherKey = KeyGeneration.p256PrivateKey(using: &generator)
        #expect(throws: IdentityError.self) {
            try WorkloadCertificate(certificatePEM: workload.certificatePEM, privateKeyPEM: otherKey.pemRepresentation, issuerPEM: workload.issuerPEM)
        }
    }

    @Test func leafNeverOutlivesItsRoot() throws {
        var generator = SeededGenerator(seed: 3)
        let ca = try MeshCertificateAuthority.createRoot(now: Self.start, validity: .hours(2), using: &generator)
        let workload = try ca.issue(for: ServiceIdentity(parsing: "a.b.cluster.local"), now: Self.start.addingTimeInterval(3600), validity: .hours(24), using: &generator)
        #expect(workload.notValidAfter == ca.certificate.notValidAfter)
        #expect(throws: IdentityError.self) {
            try ca.issue(for: ServiceIdentity(parsing: "a.b.cluster.local"), now: Self.start.addingTimeInterval(3 * 3600), validity: .hours(1), using: &generator)
        }
        #expect(throws: IdentityError.invalidValidity("1ms is shorter than one second")) {
            try ca.issue(for: ServiceIdentity(parsing: "a.b.cluster.local"), now: Self.start, validity: .milliseconds(1), using: &generator)
        }
    }

    @Test func renewalIsDueWhenLessThanAThirdOfTheValidityIsLeft() throws {
        let ca = try Self.makeCA()
        var generator = SeededGenerator(seed: 11)
        let workload = try ca.issue(for: ServiceIdentity(parsing: "a.b.cluster.local"), now: Self.start, validity: .hours(24), using: &generator)
        #expect(workload.renewalTime == Self.start.addingTimeInterval(16 * 3600))
        #expect(!workload.renewalDue(now: Self.start))
        #expect(!workload.renewalDue(now: Self.start.addingTimeInterval(16 * 3600 - 1)))
        #expect(workload.renewalDue(now: Self.start.addingTimeInterval(16 * 3600)))
        #expect(workload.renewalDue(now: Self.start.addingTimeInterval(30 * 3600)))
    }

    @Test func identitiesParseOrGiveAClearError() throws {
        let identity = try ServiceIdentity(parsing: "bookbuyer.bookbuyer.cluster.local")
        #expect(identity.serviceAccount == "bookbuyer" && identity.namespace == "bookbuyer" && identity.trustDomain == "cluster.local")
        #expect(identity.spiffeID == "spiffe://cluster.local/ns/bookbuyer/sa/bookbuyer")
        for bad in ["", "bookbuyer", "a.b", "a..cluster.local", "A.b.cluster.local", "a b.c.cluster.local"] {
            #expect(throws: IdentityError.self) { try ServiceIdentity(parsing: bad) }
        }
    }
}

@Suite struct PeerVerificationTests {
    static let start = CertificateAuthorityTests.start

    static func setup() throws -> (MeshCertificateAuthority, WorkloadCertificate) {
        let ca = try CertificateAuthorityTests.makeCA()
        var generator = SeededGenerator(seed: 21)
        let workload = try ca.issue(for: ServiceIdentity(parsing: "bookbuyer.bookbuyer.cluster.local"), now: start, validity: .hours(24), using: &generator)
        return (ca, workload)
    }

    @Test func validChainGivesTheIdentity() async throws {
        let (ca, workload) = try Self.setup()
        let verifier = try PeerCertificateVerifier(rootPEM: ca.certificatePEM)
        let identity = try await verifier.verify(chain: [workload.certificate], at: Self.start.addingTimeInterval(3600))
        #expect(identity.dnsName == "bookbuyer.bookbuyer.cluster.local")
        // Leaf plus root, as some peers send it, verifies too.
        #expect(try await verifier.verify(chain: [workload.certificate, ca.certificate], at: Self.start).dnsName == identity.dnsName)
    }

    @Test func expiredCertificateIsRejected() async throws {
        let (ca, workload) = try Self.setup()
        let verifier = PeerCertificateVerifier(root: ca.certificate)
        let after = Self.start.addingTimeInterval(24 * 3600 + 1)
        await #expect {
            try await verifier.verify(chain: [workload.certificate], at: after)
        } throws: { error in
            guard case IdentityError.expired(let subject, _, _)? = error as? IdentityError else { return false }
            return subject.contains("bookbuyer.bookbuyer.cluster.local") && "\(error)".contains("has expired")
        }
    }

    @Test func notYetValidCertificateIsRejected() async throws {
        let (ca, workload) = try Self.setup()
        let verifier = PeerCertificateVerifier(root: ca.certificate)
        await #expect {
            try await verifier.verify(chain: [workload.certificate], at: Self.start.addingTimeInterval(-1))
        } throws: { error in
            guard case IdentityError.notYetValid? = error as? IdentityError else { return false }
            return "\(error)".contains("not valid yet")
        }
    }

    @Test func foreignCAIsRejected() async throws {
        let (_, workload) = try Self.setup()
        let foreign = try CertificateAuthorityTests.makeCA(seed: 99, name: "fsm-root-ca")
        let verifier = PeerCertificateVerifier(root: foreign.certificate)
        // Same CA name, different key: the signature does not check out.
        await #expect {
            try await verifier.verify(chain: [workload.certificate], at: Self.start)
        } throws: { error in
            guard case IdentityError.untrusted? = error as? IdentityError else { return false }
            return "\(error)".contains("not issued by the mesh root CA")
        }
        await #expect(throws: IdentityError.emptyChain) { try await verifier.verify(chain: [], at: Self.start) }
    }

    @Test func certificateWithoutMeshIdentityIsRejected() async throws {
        let ca = try CertificateAuthorityTests.makeCA()
        // The CA itself is a certificate with no SAN.
        await #expect {
            try await PeerCertificateVerifier(root: ca.certificate).verify(chain: [ca.certificate], at: Self.start)
        } throws: { error in
            guard case IdentityError.noMeshIdentity? = error as? IdentityError else { return false }
            return true
        }
    }
}
