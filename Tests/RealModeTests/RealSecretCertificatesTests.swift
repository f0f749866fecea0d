import Foundation
import MeshModel
@testable import MeshRealMode
import SimCore
import SwiftASN1
import Testing
import X509

/// Real mode's real certificates for the scenarios' modelled ones (DECISIONS 185, 204): the same
/// text is the same certificate, a certificate is issued by the `ca.crt` beside it (else
/// self-signed), each Secret's key belongs to its certificate, and a text that is not PEM refuses
/// the run with its place in the file.
@Suite
struct RealSecretCertificatesTests {
    static func rewritten(_ file: String) throws -> (certificates: RealSecretCertificates, secrets: [String: Secret]) {
        let scenario = try RealModeTests.load(file)
        let certificates = try RealSecretCertificates(scenario: scenario)
        let secrets = RealSecretCertificates.secretsByName(of: certificates.rewritten(scenario))
        return (certificates, secrets)
    }

    static func certificate(_ name: String, _ key: String, in secrets: [String: Secret]) throws -> Certificate {
        try Certificate(pemEncoded: try #require(secrets[name]?.text(key), "\(name) has no \(key)"))
    }

    /// `issuer` signed `certificate` and is named as its issuer.
    static func issued(_ certificate: Certificate, by issuer: Certificate) -> Bool {
        certificate.issuer == issuer.subject && issuer.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    @Test func theSameTextIsTheSameCertificateAndASecretWithoutCAIsSelfSigned() throws {
        let (_, secrets) = try Self.rewritten("gateway-tls-termination.yaml")
        let served = try Self.certificate("httpbin/simple-gateway-cert", Secret.certificateKey, in: secrets)
        // curl --cacert example.com.crt: the CA Secret holds the very certificate the gateway serves.
        #expect(try Self.certificate("httpbin/example-com-ca", Secret.caKey, in: secrets) == served)
        #expect(Self.issued(served, by: served))
        let other = try Self.certificate("httpbin/other-ca", Secret.caKey, in: secrets)
        #expect(other != served)
        #expect(!Self.issued(served, by: other))
        // The names a client verifies (curl's rule) are in the certificate.
        let names = try #require(try served.extensions.subjectAlternativeNames)
        #expect(names.contains(.dnsName("example.com")))
    }

    @Test func aCertificateIsIssuedByTheCABesideItAndItsKeyBelongsToIt() throws {
        let (_, secrets) = try Self.rewritten("gateway-mtls.yaml")
        let ca = try Self.certificate("httpbin/ca-cert", Secret.caKey, in: secrets)
        let server = try Self.certificate("httpbin/simple-gateway-cert", Secret.certificateKey, in: secrets)
        let client = try Self.certificate("httpbin/client-cert", Secret.certificateKey, in: secrets)
        let stranger = try Self.certificate("httpbin/stranger-cert", Secret.certificateKey, in: secrets)
        #expect(try Self.certificate("httpbin/simple-gateway-cert", Secret.caKey, in: secrets) == ca)
        #expect(Self.issued(server, by: ca))
        #expect(Self.issued(client, by: ca))
        #expect(!Self.issued(stranger, by: ca))
        #expect(Self.issued(stranger, by: stranger))
        for name in ["httpbin/simple-gateway-cert", "httpbin/client-cert", "httpbin/stranger-cert"] {
            let key = try Certificate.PrivateKey(pemEncoded: try #require(secrets[name]?.text(Secret.privateKeyKey)))
            #expect(key.publicKey == (try Self.certificate(name, Secret.certificateKey, in: secrets)).publicKey, "\(name)'s key")
        }
    }

    @Test func aTLSEchoAppsCertificateKeyIsRewrittenWithItsKey() throws {
        let (_, secrets) = try Self.rewritten("gateway-upstream-tls.yaml")
        let ca = try Self.certificate("httpbin/https-cert", Secret.caKey, in: secrets)
        let served = try Self.certificate("httpbin/server-cert", "server-cert.pem", in: secrets)
        #expect(Self.issued(served, by: ca))
        let key = try Certificate.PrivateKey(pemEncoded: try #require(secrets["httpbin/server-cert"]?.text("server-key.pem")))
        #expect(key.publicKey == served.publicKey)
    }

    @Test func anExternalHostsPublicCertificateNamesItsHostAndChainsToTheRunsRoot() throws {
        let (certificates, _) = try Self.rewritten("gateway-tls-passthrough.yaml")
        let root = try Certificate(pemEncoded: certificates.publicRoot.certificatePEM)
        let host = try Certificate(pemEncoded: try #require(certificates.publicHosts["httpbin.org"]).certificatePEM)
        #expect(Self.issued(host, by: root))
        #expect(try host.extensions.subjectAlternativeNames.map(Array.init) == [.dnsName("httpbin.org")])
    }

    @Test func aSecretTextThatIsNotPEMRefusesTheRunWithItsPlace() throws {
        let text = """
        name: not-pem
        manifests: |
          apiVersion: v1
          kind: Secret
          metadata: { name: broken, namespace: demo }
          stringData:
            tls.crt: "just some text"
        steps:
          - at: 0s
            load: { name: l, from: external, url: "http://fsm-gateway-demo.demo:80/", requests: 1 }
        """
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("not-pem-\(UInt32.random(in: 0...UInt32.max)).yaml").path
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let scenario = try ScenarioParser.parse(text, file: file)
        #expect(throws: RealModeError.setup("\(file):7:5: Secret demo/broken key tls.crt: expected a PEM certificate (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----); real mode makes a real certificate of each one")) {
            _ = try RealSecretCertificates(scenario: scenario)
        }
    }
}
