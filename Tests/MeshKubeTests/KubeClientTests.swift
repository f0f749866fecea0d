import Foundation
import MeshIdentity
import MeshKube
import MeshKubeTesting
import MeshModel
import MeshTestCA
import NIOCore
import NIOSSL
import Testing

/// The client's write API as `fsm install`, `fsm namespace` and the webhook will call it, its
/// one-line errors, and its authentication (TLS with a CA, client certificates, rotating tokens).
/// Addresses: 127.93.<20..29>.1.
@Suite(.timeLimit(.minutes(2)))
struct KubeClientTests {
    static let namespaceObject: JSONValue = .object([("apiVersion", .string("v1")), ("kind", .string("Namespace")),
                                                     ("metadata", .object([("name", .string("bookstore"))]))])

    @Test func serverSideApplyCreatesThenUpdatesWithTheFsmFieldManager() async throws {
        try await withDouble(suite: 20) { double, client in
            let created = try await client.apply(.namespaces, name: "bookstore", object: Self.namespaceObject)
            #expect(created.name == "bookstore")
            let labelled = Self.namespaceObject.setting("metadata", to: .object([("name", .string("bookstore")), ("labels", .object([("flomesh.io/monitored-by", .string("fsm"))]))]))
            try await client.apply(.namespaces, name: "bookstore", object: labelled)
            let stored = await double.object(.namespaces, name: "bookstore")
            #expect(stored?["metadata"]?["labels"]?["flomesh.io/monitored-by"] == .string("fsm"))
            let applies = await double.writes()
            #expect(applies.count == 2)
            #expect(applies.allSatisfy { $0.method == "PATCH" && $0.contentType == "application/apply-patch+yaml" })
            #expect(applies.allSatisfy { $0.query["fieldManager"] == "fsm" && $0.query["force"] == "true" })
            #expect(applies.first?.path == "/api/v1/namespaces/bookstore")
        }
    }

    @Test func createReplacePatchAndDelete() async throws {
        try await withDouble(suite: 21) { double, client in
            try await client.create(.namespaces, object: Self.namespaceObject)
            do {
                try await client.create(.namespaces, object: Self.namespaceObject)
                Issue.record("a second create must fail")
            } catch let error as KubeError {
                #expect(error.isConflict)
                #expect(error.description == "POST /api/v1/namespaces: 409 AlreadyExists: namespaces \"bookstore\" already exists")
            }
            let merged = try await client.patch(.namespaces, name: "bookstore", .merge(.object([("metadata", .object([("annotations", .object([("a", .string("1"))]))]))])))
            #expect(merged.json["metadata"]?["annotations"]?["a"] == .string("1"))
            let patched = try await client.patch(.namespaces, name: "bookstore", .json([KubePatch.operation("add", "/metadata/labels", .object([("x", .string("y"))]))]))
            #expect(patched.json["metadata"]?["labels"]?["x"] == .string("y"))
            // A replace from a stale read is refused: optimistic concurrency.
            let stale = Self.namespaceObject.setting("metadata", to: .object([("name", .string("bookstore")), ("resourceVersion", .string("2"))]))
            do {
                try await client.replace(.namespaces, name: "bookstore", object: stale)
                Issue.record("a stale replace must fail")
            } catch let error as KubeError {
                #expect(error.isConflict)
                #expect(error.description.hasSuffix("the object has been modified; please apply your changes to the latest version and try again"))
            }
            #expect(try await client.delete(.namespaces, name: "bookstore"))
            #expect(try await client.delete(.namespaces, name: "bookstore") == false)
            #expect(try await client.get(.namespaces, name: "bookstore") == nil)
            let kinds = await double.writes().map { "\($0.verb.rawValue) \($0.contentType ?? "")" }
            #expect(kinds == ["create application/json", "create application/json", "patch application/merge-patch+json",
                              "patch application/json-patch+json", "update application/json", "delete application/json", "delete application/json"])
        }
    }

    @Test func secretsRoundTripAndAreCreatedOnce() async throws {
        try await withDouble(suite: 22) { double, client in
            let key: [UInt8] = Array(0..<32)
            try await client.createSecret(namespace: "fsm-system", name: "fsm-credential-key", data: ["credential.key": key], labels: ["app": "fsm"])
            #expect(try await client.secretData(namespace: "fsm-system", name: "fsm-credential-key") == ["credential.key": key])
            #expect(try await client.secretData(namespace: "fsm-system", name: "missing") == nil)
            await #expect(throws: KubeError.self) {
                try await client.createSecret(namespace: "fsm-system", name: "fsm-credential-key", data: ["credential.key": [1]])
            }
            let stored = await double.object(.secrets, namespace: "fsm-system", name: "fsm-credential-key")
            #expect(stored?["type"] == .string("Opaque"))
            #expect(stored?["data"]?["credential.key"] == .string(Data(key).base64EncodedString()))
            try await client.applySecret(namespace: "fsm-system", name: "fsm-credential-key", data: ["credential.key": [9, 9]])
            #expect(try await client.secretData(namespace: "fsm-system", name: "fsm-credential-key") == ["credential.key": [9, 9]])
        }
    }

    @Test func theWebhookCABundleIsPatchedIntoEveryWebhook() async throws {
        try await withDouble(suite: 23) { double, client in
            let webhook = { (name: String) -> JSONValue in
                .object([("name", .string(name)), ("clientConfig", .object([("service", .object([("name", .string("fsm-injector")), ("namespace", .string("fsm-system"))]))])),
                         ("admissionReviewVersions", .array([.string("v1")])), ("sideEffects", .string("None"))])
            }
            try await client.create(.mutatingWebhookConfigurations, object: .object([
                ("apiVersion", .string("admissionregistration.k8s.io/v1")), ("kind", .string("MutatingWebhookConfiguration")),
                ("metadata", .object([("name", .string("fsm-webhook"))])), ("webhooks", .array([webhook("a.flomesh.io"), webhook("b.flomesh.io")])),
            ]))
            let pem = Array(TestCA.shared.rootPEM.utf8)
            #expect(try await client.patchWebhookCABundle(.mutatingWebhookConfigurations, name: "fsm-webhook", caPEM: pem) == 2)
            let stored = await double.object(.mutatingWebhookConfigurations, name: "fsm-webhook")
            guard case .array(let webhooks)? = stored?["webhooks"] else { Issue.record("no webhooks"); return }
            #expect(webhooks.map { $0["clientConfig"]?["caBundle"] } == Array(repeating: .string(Data(pem).base64EncodedString()), count: 2))
            #expect(webhooks.first?["clientConfig"]?["service"]?["name"] == .string("fsm-injector"))
            do {
                try await client.patchWebhookCABundle(.validatingWebhookConfigurations, name: "nowhere", caPEM: pem)
                Issue.record("a missing configuration must fail")
            } catch let error as KubeError {
                #expect(error.isNotFound)
            }
        }
    }

    @Test func errorsAreOneLineWithTheStatusMessage() async throws {
        try await withDouble(suite: 24) { double, client in
            await double.inject(.forbidden(.pods), on: [.list])
            let forbidden = await kubeError { () async throws(KubeError) in _ = try await client.list(.pods) }
            #expect(forbidden?.isForbidden == true)
            #expect(forbidden?.description == "GET /api/v1/pods?limit=500: 403 Forbidden: pods is forbidden: User \"system:serviceaccount:fsm-system:fsm\" cannot list resource \"pods\" in API group \"\" at the cluster scope")
            await double.inject(.garbage, on: [.list])
            let garbage = await kubeError { () async throws(KubeError) in _ = try await client.list(.services) }
            #expect(garbage?.kind == .malformed)
            #expect(garbage.map { !$0.description.contains("\n") } == true)
        }
        // Nobody listens there.
        let client = try KubeClient(connection: KubeConnection(server: "http://\(KubeTestNet.host(24, 2)):1"), requestTimeout: .seconds(3), logger: quietLogger())
        let unreachable = await kubeError { () async throws(KubeError) in _ = try await client.list(.pods) }
        #expect(unreachable?.kind == .unreachable)
        #expect(unreachable?.description.hasPrefix("GET /api/v1/pods?limit=500: API server unreachable: http://\(KubeTestNet.host(24, 2)):1: ") == true)
        #expect(unreachable.map { !$0.description.contains("\n") } == true)
        await client.shutdown()
    }

    @Test func aHangingServerIsCutByTheRequestDeadline() async throws {
        try await withDouble(suite: 25) { double, client in
            await double.inject(.hang, on: [.get])
            let clock = ContinuousClock()
            let start = clock.now
            do {
                _ = try await client.get(.namespaces, name: "x")
                Issue.record("expected a deadline")
            } catch let error as KubeError {
                #expect(error.kind == .unreachable)
                #expect(error.description.contains("timed out"))
            }
            #expect(start.duration(to: clock.now) < .seconds(30))
        }
    }

    /// A TLS server certificate for 127.93.26.1, signed by the test CA.
    static func serverContext(clientCA: Bool) throws -> NIOSSLContext {
        let (certificate, key) = try TestServerCertificate.make(ipAddress: KubeTestNet.host(26))
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key))
        if clientCA {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(TestCA.shared.rootPEM.utf8)))
        }
        return try NIOSSLContext(configuration: tls)
    }

    @Test func tlsWithTheClusterCAAndAClientCertificate() async throws {
        let workload = try TestCA.shared.issue("fsm.fsm-system.cluster.local")
        let credentials = KubeCredentials.clientCertificate(certificatePEM: Array(workload.certificatePEM.utf8), keyPEM: Array(workload.privateKeyPEM.utf8))
        let settings = KubeAPIDouble.Settings(tls: try Self.serverContext(clientCA: true))
        try await withDouble(suite: 26, settings: settings) { double, _ in
            let ca = KubeConnection.Trust.certificateAuthority(pem: Array(TestCA.shared.rootPEM.utf8))
            let client = try KubeClient(connection: KubeConnection(server: double.url, trust: ca, credentials: credentials), requestTimeout: .seconds(5), logger: quietLogger())
            #expect(try await client.list(.namespaces).items.isEmpty)
            await client.shutdown()
            // Without the client certificate the handshake fails, as it does with a CA that did not sign the server.
            let anonymous = try KubeClient(connection: KubeConnection(server: double.url, trust: ca), requestTimeout: .seconds(5), logger: quietLogger())
            await #expect(throws: KubeError.self) { _ = try await anonymous.list(.namespaces) }
            await anonymous.shutdown()
            let wrongCA = try KubeClient(connection: KubeConnection(server: double.url, trust: .certificateAuthority(pem: Array(TestCA.foreign.rootPEM.utf8)), credentials: credentials),
                                         requestTimeout: .seconds(5), logger: quietLogger())
            do {
                _ = try await wrongCA.list(.namespaces)
                Issue.record("an unknown server CA must fail")
            } catch let error as KubeError {
                #expect(error.kind == .tls)
            }
            await wrongCA.shutdown()
        }
    }

    @Test func aRotatedTokenFileIsReadAgain() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kube-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenPath = directory.appendingPathComponent("token").path
        try Data("first\n".utf8).write(to: URL(fileURLWithPath: tokenPath))
        var settings = KubeAPIDouble.Settings()
        settings.tokens = ["first"]
        try await withDouble(suite: 27, settings: settings, credentials: .bearerTokenFile(tokenPath)) { double, client in
            _ = try await client.list(.namespaces)
            // The kubelet writes a new token and the API server stops accepting the old one.
            try Data("second\n".utf8).write(to: URL(fileURLWithPath: tokenPath))
            await double.acceptTokens(["second"])
            _ = try await client.list(.namespaces)
            let used = await double.requests().compactMap(\.authorization)
            #expect(used.first == "Bearer first")
            #expect(used.last == "Bearer second")
        }
    }

    @Test func listsArePagedAndKeepTheFirstPagesVersion() async throws {
        try await withDouble(suite: 28) { double, client in
            await double.put(.pods, (0..<7).map { apiPod("p-\($0)", namespace: "shop", ip: "10.0.0.\($0)") })
            let revision = await double.revision()
            let list = try await client.list(.pods, namespace: "shop", pageSize: 3)
            #expect(list.items.map(\.name) == (0..<7).map { "p-\($0)" })
            #expect(list.resourceVersion == String(revision))
            let pages = await double.requests().filter { $0.verb == .list }
            #expect(pages.count == 3)
            #expect(pages.allSatisfy { $0.path == "/api/v1/namespaces/shop/pods" && $0.query["limit"] == "3" })
        }
    }
}
