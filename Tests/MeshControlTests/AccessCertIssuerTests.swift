import MeshControl
import MeshManifest
import MeshModel
import MeshTesting
import Testing

/// AccessCert (demos.md 6.7) from its YAML to the controller's actions: issue into the Secret,
/// status, renewal, spec changes, deletion, the feature flag, and the refusals.
@Suite struct AccessCertIssuerTests {
    typealias Issuer = AccessCertIssuer<Int>

    /// The guide's AccessCert: in `httpbin`, writing `curl/curl-mtls-secret`.
    static let guide = AccessCertFixtures.guide()

    static let key = ResourceKey(kind: .accessCert, namespace: "httpbin", name: "curl-mtls-cert")
    static let secret = SecretReference(namespace: "curl", name: "curl-mtls-secret")
    static let request = Issuer.Request(key: key, subjectAltNames: ["curl.curl.cluster.local"], secret: secret)

    static func decoded(_ yaml: String = guide) throws -> AccessCert {
        guard case .accessCert(let cert) = try #require(try ManifestDecoder.decode(yaml, file: "acct.yaml").first).resource else {
            throw DecodedOtherKind()
        }
        return cert
    }

    struct DecodedOtherKind: Error {}

    static func noMesh(_ name: String) -> Bool { false }

    @Test func theGuidesAccessCertIsIssuedIntoItsSecretThenCommitted() throws {
        let cert = try Self.decoded()
        #expect(cert.subjectAltNames == ["curl.curl.cluster.local"])
        #expect(cert.secret == Self.secret)
        var issuer = Issuer()
        #expect(issuer.reconcile([Self.key: cert], enabled: true, now: 0, meshIdentities: Self.noMesh) == [.issue(Self.request)])
        // While the write is under way nothing more is asked for.
        #expect(issuer.reconcile([Self.key: cert], enabled: true, now: 1, meshIdentities: Self.noMesh).isEmpty)
        #expect(issuer.issued(Self.request, renewAt: 100) == [.setStatus(Self.key, .committed)])
        #expect(issuer.reconcile([Self.key: cert], enabled: true, now: 99, meshIdentities: Self.noMesh).isEmpty)
        // Renewal: the same request again once due; the status does not change.
        #expect(issuer.reconcile([Self.key: cert], enabled: true, now: 100, meshIdentities: Self.noMesh) == [.issue(Self.request)])
        #expect(issuer.issued(Self.request, renewAt: 200).isEmpty)
    }

    @Test func aSecretDefaultsToTheAccessCertsNamespace() throws {
        let cert = try Self.decoded(Self.guide.replacing("\n    namespace: curl", with: ""))
        #expect(cert.secret == SecretReference(namespace: "httpbin", name: "curl-mtls-secret"))
    }

    @Test func withTheFeatureFlagOffNothingIsIssuedAndTheStatusSaysWhy() throws {
        var issuer = Issuer()
        let cert = try Self.decoded()
        #expect(issuer.reconcile([Self.key: cert], enabled: false, now: 0, meshIdentities: Self.noMesh) == [.setStatus(Self.key, .prohibited)])
        #expect(issuer.reconcile([Self.key: cert], enabled: false, now: 1, meshIdentities: Self.noMesh).isEmpty)
        #expect(issuer.reconcile([Self.key: cert], enabled: true, now: 2, meshIdentities: Self.noMesh) == [.issue(Self.request)])
    }

    @Test func aFailedWriteIsReportedAndRetriedLater() throws {
        var issuer = Issuer()
        let cert = try Self.decoded()
        _ = issuer.reconcile([Self.key: cert], enabled: true, now: 0, meshIdentities: Self.noMesh)
        #expect(issuer.failed(Self.request, reason: "Secret curl/curl-mtls-secret exists", retryAt: 30)
                == [.setStatus(Self.key, AccessCertStatus(.error, reason: "Secret curl/curl-mtls-secret exists"))])
        #expect(issuer.reconcile([Self.key: cert], enabled: true, now: 29, meshIdentities: Self.noMesh).isEmpty)
        #expect(issuer.reconcile([Self.key: cert], enabled: true, now: 30, meshIdentities: Self.noMesh) == [.issue(Self.request)])
        #expect(issuer.issued(Self.request, renewAt: 100) == [.setStatus(Self.key, .committed)])
    }

    @Test func aNewSecretReissuesAndRemovesTheOldOneAndADeleteRemovesTheSecret() throws {
        var issuer = Issuer()
        var cert = try Self.decoded()
        _ = issuer.reconcile([Self.key: cert], enabled: true, now: 0, meshIdentities: Self.noMesh)
        _ = issuer.issued(Self.request, renewAt: 100)
        cert.secret = SecretReference(namespace: "curl", name: "other")
        let moved = Issuer.Request(key: Self.key, subjectAltNames: cert.subjectAltNames, secret: cert.secret)
        #expect(issuer.reconcile([Self.key: cert], enabled: true, now: 1, meshIdentities: Self.noMesh)
                == [.removeSecret(Self.secret, owner: Self.key), .issue(moved)])
        // The old request's late completion is ignored.
        #expect(issuer.issued(Self.request, renewAt: 100).isEmpty)
        #expect(issuer.issued(moved, renewAt: 100).isEmpty) // already committed
        #expect(issuer.reconcile([:], enabled: true, now: 2, meshIdentities: Self.noMesh) == [.removeSecret(cert.secret, owner: Self.key)])
    }

    @Test func aMeshIdentityOrASecretClaimedTwiceIsRefused() throws {
        var issuer = Issuer()
        let cert = try Self.decoded()
        let refused = issuer.reconcile([Self.key: cert], enabled: true, now: 0, meshIdentities: { $0 == "curl.curl.cluster.local" })
        guard case .setStatus(Self.key, let status)? = refused.first, refused.count == 1 else { Issue.record("expected one status, got \(refused)"); return }
        #expect(status.currentStatus == .error && status.reason.contains("identity of meshed pods"))
        let second = ResourceKey(kind: .accessCert, namespace: "httpbin", name: "z-second")
        var other = cert
        other.subjectAltNames = ["other.curl.cluster.local"]
        let actions = Issuer().reconciled([Self.key: cert, second: other])
        #expect(actions.first == .issue(Self.request))
        #expect(actions.last == .setStatus(second, AccessCertStatus(.error, reason: "Secret curl/curl-mtls-secret is already written for AccessCert httpbin/curl-mtls-cert")))
    }

    @Test func aCertificateWhoseSANBecomesAMeshIdentityIsWithdrawnAndTheFlagBackOnRecommits() throws {
        var issuer = Issuer()
        let cert = try Self.decoded()
        _ = issuer.reconcile([Self.key: cert], enabled: true, now: 0, meshIdentities: Self.noMesh)
        _ = issuer.issued(Self.request, renewAt: 100)
        #expect(issuer.reconcile([Self.key: cert], enabled: false, now: 1, meshIdentities: Self.noMesh) == [.setStatus(Self.key, .prohibited)])
        #expect(issuer.reconcile([Self.key: cert], enabled: true, now: 2, meshIdentities: Self.noMesh) == [.setStatus(Self.key, .committed)])
        let actions = issuer.reconcile([Self.key: cert], enabled: true, now: 3, meshIdentities: { $0 == AccessCertFixtures.san })
        #expect(actions.first == .removeSecret(Self.secret, owner: Self.key))
        #expect(actions.count == 2)
    }

    @Test func theControllerTellsMeshIdentitiesAndKeepsTheAccessCerts() throws {
        var controller = MeshController()
        _ = controller.apply([
            ClusterFixtures.namespace("curl"),
            ClusterFixtures.pod("curl-0", "curl", serviceAccount: "curl", labels: ["app": "curl"], ip: "10.244.0.21"),
            .upsert(.accessCert(try Self.decoded())),
        ])
        #expect(controller.accessCerts[Self.key]?.subjectAltNames == ["curl.curl.cluster.local"])
        #expect(controller.isMeshIdentity("curl.curl.cluster.local"))
        #expect(!controller.isMeshIdentity("other.curl.cluster.local"))
        _ = controller.apply([.delete(Self.key)])
        #expect(controller.accessCerts.isEmpty)
    }
}

extension AccessCertIssuer where Instant == Int {
    func reconciled(_ certs: [ResourceKey: AccessCert]) -> [Action] {
        var copy = self
        return copy.reconcile(certs, enabled: true, now: 0, meshIdentities: { _ in false })
    }
}
