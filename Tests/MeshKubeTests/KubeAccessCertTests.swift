import Foundation
import Logging
import MeshControlPlane
import MeshIdentity
import MeshKube
import MeshKubeTesting
import MeshModel
import NIOCore
import Testing
import X509

/// `fsm controller --kubernetes` and AccessCerts (demos.md 6.7; here in the fixture's monitored
/// namespace `bookstore`, where the guide has `httpbin`): the leader writes the guide's
/// Secret `curl/curl-mtls-secret` (`kubernetes.io/tls`: `ca.crt` the mesh root, `tls.crt` for
/// `curl.curl.cluster.local` chaining to it, `tls.key` its key) and sets the AccessCert's status;
/// a Secret it did not write is left alone and the status says so. Addresses: 127.93.41.x.
@Suite(.timeLimit(.minutes(1)))
struct KubeAccessCertTests {
    static func accessCert(secret: String = "curl-mtls-secret") -> JSONValue {
        .object([
            ("apiVersion", .string("policy.flomesh.io/v1alpha1")), ("kind", .string("AccessCert")),
            ("metadata", .object([("name", .string("curl-mtls-cert")), ("namespace", .string("bookstore")), ("uid", .string("acct-1"))])),
            ("spec", .object([
                ("subjectAltNames", .array([.string("curl.curl.cluster.local")])),
                ("secret", .object([("name", .string(secret)), ("namespace", .string("curl"))])),
            ])),
        ])
    }

    /// The fixture's MeshConfig with `enableAccessCertPolicy`.
    static func enableAccessCerts(_ double: KubeAPIDouble) async throws {
        let config = try #require(await double.object(.meshConfigs, namespace: "fsm-system", name: "fsm-mesh-config"))
        let spec = config["spec"] ?? .object([])
        let flags = (spec["featureFlags"] ?? .object([])).setting("enableAccessCertPolicy", to: .bool(true))
        await double.put(.meshConfigs, [config.setting("spec", to: spec.setting("featureFlags", to: flags))])
    }

    static func start(_ double: KubeAPIDouble, host: String) async throws -> KubeController {
        let settings = KubeController.Settings(controller: ControllerSettings(host: host, port: 0, pollInterval: .milliseconds(200)),
                                               identity: "replica-a", informers: fastInformers, requestTimeout: .seconds(5))
        return try await KubeController.start(connection: KubeConnection(server: double.url), settings: settings, logger: quietLogger())
    }

    static func data(_ secret: JSONValue?, _ key: String) -> String? {
        guard let text = secret?["data"]?[key]?.stringValue, let bytes = Data(base64Encoded: text) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func theLeaderWritesTheGuidesSecretAndCommitsTheStatus() async throws {
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(41, 1)))
        try await double.load(list: bookstoreFixture())
        try await Self.enableAccessCerts(double)
        await double.put(.accessCerts, [Self.accessCert()])
        let kube = try await Self.start(double, host: KubeTestNet.host(41, 2))
        do {
            #expect(await eventually { await double.object(.accessCerts, namespace: "bookstore", name: "curl-mtls-cert")?["status"]?["currentStatus"] == .string("committed") })
            let secret = try #require(await double.object(.secrets, namespace: "curl", name: "curl-mtls-secret"))
            #expect(secret["type"] == .string("kubernetes.io/tls"))
            #expect(secret["metadata"]?["labels"]?[KubeAccessCertStore.ownerLabel] == .string("bookstore.curl-mtls-cert"))
            let ca = try #require(Self.data(secret, "ca.crt"))
            #expect(ca == kube.server.rootCertificatePEM)
            // The key is the certificate's, which names the SAN and chains to the mesh root.
            let issued = try WorkloadCertificate(certificatePEM: try #require(Self.data(secret, "tls.crt")), privateKeyPEM: try #require(Self.data(secret, "tls.key")),
                                                 issuerPEM: ca)
            #expect(try issued.certificate.extensions.subjectAlternativeNames?.contains(.dnsName("curl.curl.cluster.local")) == true)
            let identity = try await PeerCertificateVerifier(rootPEM: ca).verify(chain: [issued.certificate], at: Date())
            #expect(identity.dnsName == "curl.curl.cluster.local")
            #expect(await double.object(.accessCerts, namespace: "bookstore", name: "curl-mtls-cert")?["status"]?["reason"]
                    == .string("successfully committed by the system"))
            // Deleting the AccessCert removes its Secret.
            _ = await double.remove(.accessCerts, namespace: "bookstore", name: "curl-mtls-cert")
            #expect(await eventually { await double.object(.secrets, namespace: "curl", name: "curl-mtls-secret") == nil })
        } catch {
            Issue.record(error)
        }
        await kube.shutdown()
        await double.shutdown()
    }

    @Test func aSecretItDidNotWriteIsLeftAloneAndTheStatusSaysSo() async throws {
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(41, 3)))
        try await double.load(list: bookstoreFixture())
        try await Self.enableAccessCerts(double)
        let foreign: JSONValue = .object([
            ("apiVersion", .string("v1")), ("kind", .string("Secret")),
            ("metadata", .object([("name", .string("precious")), ("namespace", .string("curl"))])),
            ("type", .string("Opaque")), ("data", .object([("password", .string("aHVudGVyMg=="))])),
        ])
        await double.put(.secrets, [foreign])
        await double.put(.accessCerts, [Self.accessCert(secret: "precious")])
        let kube = try await Self.start(double, host: KubeTestNet.host(41, 4))
        #expect(await eventually { await double.object(.accessCerts, namespace: "bookstore", name: "curl-mtls-cert")?["status"]?["currentStatus"] == .string("error") })
        let reason = await double.object(.accessCerts, namespace: "bookstore", name: "curl-mtls-cert")?["status"]?["reason"]?.stringValue ?? ""
        #expect(reason.contains("Secret curl/precious exists and was not written for AccessCert bookstore/curl-mtls-cert"))
        #expect(await double.object(.secrets, namespace: "curl", name: "precious")?["data"]?["password"] == .string("aHVudGVyMg=="))
        await kube.shutdown()
        await double.shutdown()
    }

    @Test func withTheFeatureFlagOffTheStatusSaysItIsProhibited() async throws {
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(41, 5)))
        try await double.load(list: bookstoreFixture())
        await double.put(.accessCerts, [Self.accessCert()])
        let kube = try await Self.start(double, host: KubeTestNet.host(41, 6))
        #expect(await eventually { await double.object(.accessCerts, namespace: "bookstore", name: "curl-mtls-cert")?["status"]?["reason"]
                == .string(AccessCertStatus.prohibited.reason) })
        #expect(await double.object(.secrets, namespace: "curl", name: "curl-mtls-secret") == nil)
        await kube.shutdown()
        await double.shutdown()
    }
}

