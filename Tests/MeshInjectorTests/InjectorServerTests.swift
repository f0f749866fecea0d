import Foundation
import Logging
import MeshControl
import MeshIdentity
import MeshInject
import MeshInjector
import MeshManifest
import MeshModel
import NIOCore
import NIOHTTP1
import Testing

/// `fsm injector`'s server over real TLS sockets, as the API server uses it (127.94.1.x).
@Suite(.timeLimit(.minutes(2)))
struct InjectorServerTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("MeshInjectTests/Fixtures")

    static func fixture(_ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
    }

    static func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "mesh-injector-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func authority() throws -> MeshCertificateAuthority {
        var generator = SystemRandomNumberGenerator()
        return try MeshCertificateAuthority.createRoot(now: Date(), using: &generator)
    }

    static let credentialKey = [UInt8](repeating: 9, count: 32)

    /// A server on `host` (port 0) answering against the fixtures' cluster.
    static func start(host: String, writes: any InjectorKubeWrites, authority: MeshCertificateAuthority, failurePolicy: FailurePolicy = .fail,
                      validity: MeshDuration = .hours(24), maxConnections: Int = 16, secretDeadline: TimeAmount = .seconds(5)) async throws -> InjectorServer {
        let cluster = SharedInjectorCluster(controlPlaneNamespace: "fsm-system")
        cluster.apply(try ManifestDecoder.decode(fixture("cluster.yaml"), file: "cluster.yaml").map { .upsert($0.resource) })
        let settings = InjectorSettings(failurePolicy: failurePolicy)
        let webhook = AdmissionWebhook(injector: PodInjector(settings: settings, credentials: try CredentialAuthority(keyBytes: credentialKey)))
        let serverSettings = InjectorServerSettings(host: host, port: 0, ipAddresses: [host], certificateValidity: validity,
                                                    maxConnections: maxConnections, secretDeadline: secretDeadline)
        var logger = Logger(label: "test.injector")
        logger.logLevel = .critical
        return try await InjectorServer.start(settings: serverSettings, webhook: webhook, cluster: cluster, writes: writes, authority: authority, logger: logger)
    }

    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
    }

    @Test func aReviewGetsThePatchAndThePodsCredentialLandsInItsSecret() async throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try Self.authority()
        let writes = DirectoryInjectorWrites(directory: directory)
        let server = try await Self.start(host: "127.94.1.1", writes: writes, authority: authority)
        defer { Task { await server.shutdown() } }
        let port = try #require(server.localAddress?.port)

        let response = try await WebhookTestClient.request(host: "127.94.1.1", port: port, path: "/mutate-pod-creation",
                                                           body: Self.fixture("http-probes.request.json"), caPEM: authority.certificatePEM)
        #expect(response.status == 200)
        let review = try JSONValue(parsing: response.body)
        #expect(review["response"]?["allowed"] == .bool(true))
        #expect(review["response"]?["patchType"] == .string("JSONPatch"))
        guard case .string(let encoded)? = review["response"]?["patch"], let patchBytes = Data(base64Encoded: encoded) else {
            Issue.record("no patch")
            return
        }
        let patch = try JSONValue(parsing: String(decoding: patchBytes, as: UTF8.self))
        let uuid = try #require(patch.arrayValue.first { $0["path"] == .string("/metadata/labels/fsm-proxy-uuid") }?["value"]?.stringText)
        // The Secret the sidecar mounts holds a credential the controller accepts for that uuid.
        let secretDirectory = writes.secretDirectory(namespace: "bookstore", name: "fsm-sidecar-credential-\(uuid)")
        let token = try String(contentsOfFile: secretDirectory + "/credential", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try CredentialAuthority(keyBytes: Self.credentialKey).verify(token: token).get() == .proxy(namespace: "bookstore", uuid: uuid))
        #expect(Self.mode(secretDirectory + "/credential") == 0o600)
        #expect(Self.mode(secretDirectory) == 0o700)
        // The CA bundle was published for the webhook configuration.
        try await Self.eventually { FileManager.default.fileExists(atPath: directory + "/ca-bundle.pem") }
        #expect(try String(contentsOfFile: directory + "/ca-bundle.pem", encoding: .utf8) == authority.certificatePEM)
    }

    @Test func malformedReviewsGet400AndTheConnectionServesOn() async throws {
        let authority = try Self.authority()
        let server = try await Self.start(host: "127.94.1.2", writes: RecordingWrites(), authority: authority)
        defer { Task { await server.shutdown() } }
        let port = try #require(server.localAddress?.port)
        let bad = try await WebhookTestClient.request(host: "127.94.1.2", port: port, path: "/mutate-pod-creation", body: "{\"kind\":", caPEM: authority.certificatePEM)
        #expect(bad.status == 400)
        #expect(bad.body == "malformed AdmissionReview: the body is not JSON: invalid JSON at byte 8: unexpected end of text\n")
        let wrongType = try await WebhookTestClient.request(host: "127.94.1.2", port: port, path: "/mutate-pod-creation", body: "{}", contentType: "text/plain",
                                                            caPEM: authority.certificatePEM)
        #expect(wrongType.status == 415)
        let health = try await WebhookTestClient.request(host: "127.94.1.2", port: port, method: .GET, path: "/healthz", caPEM: authority.certificatePEM)
        #expect(health.status == 200)
        // A client that does not trust the mesh CA cannot talk to it.
        let stranger = try Self.authority()
        await #expect(throws: (any Error).self) {
            _ = try await WebhookTestClient.request(host: "127.94.1.2", port: port, method: .GET, path: "/healthz", caPEM: stranger.certificatePEM)
        }
    }

    @Test func aSecretThatCannotBeCreatedInTimeIsAnsweredByTheFailurePolicy() async throws {
        let authority = try Self.authority()
        let hanging = try await Self.start(host: "127.94.1.3", writes: RecordingWrites(hangs: true), authority: authority, secretDeadline: .milliseconds(300))
        defer { Task { await hanging.shutdown() } }
        let started = ContinuousClock.now
        let refused = try await WebhookTestClient.request(host: "127.94.1.3", port: try #require(hanging.localAddress?.port), path: "/mutate-pod-creation",
                                                          body: Self.fixture("plain.request.json"), caPEM: authority.certificatePEM)
        #expect(ContinuousClock.now - started < .seconds(10))
        let review = try JSONValue(parsing: refused.body)
        #expect(review["response"]?["allowed"] == .bool(false))
        #expect(review["response"]?["status"]?["message"]?.stringText?.hasSuffix("took longer than 0.3s (failurePolicy Fail)") == true)

        let failing = try await Self.start(host: "127.94.1.4", writes: RecordingWrites(fails: true), authority: authority, failurePolicy: .ignore)
        defer { Task { await failing.shutdown() } }
        let admitted = try await WebhookTestClient.request(host: "127.94.1.4", port: try #require(failing.localAddress?.port), path: "/mutate-pod-creation",
                                                           body: Self.fixture("plain.request.json"), caPEM: authority.certificatePEM)
        let answer = try JSONValue(parsing: admitted.body)
        #expect(answer["response"]?["allowed"] == .bool(true))
        #expect(answer["response"]?["patch"] == nil)
        #expect(answer["response"]?["warnings"]?.arrayValue.first?.stringText?.contains("the API server refused: forbidden") == true)
    }

    @Test func theCertificateIsRenewedBeforeItExpires() async throws {
        let authority = try Self.authority()
        // 3 s of validity: renewal is due after 2 s.
        let server = try await Self.start(host: "127.94.1.5", writes: RecordingWrites(), authority: authority, validity: .seconds(3))
        defer { Task { await server.shutdown() } }
        let port = try #require(server.localAddress?.port)
        let first = try await WebhookTestClient.request(host: "127.94.1.5", port: port, method: .GET, path: "/healthz", caPEM: authority.certificatePEM)
        try await Self.eventually(within: .seconds(8)) { server.currentCertificate.serialNumberHex != first.serial }
        let second = try await WebhookTestClient.request(host: "127.94.1.5", port: port, method: .GET, path: "/healthz", caPEM: authority.certificatePEM)
        #expect(second.status == 200)
        // A new connection presents a renewed certificate (on a loaded machine perhaps a later
        // renewal than the one awaited: every 2 s at this validity).
        #expect(second.serial != first.serial)
    }

    @Test func connectionsOverTheLimitAreClosed() async throws {
        let authority = try Self.authority()
        let server = try await Self.start(host: "127.94.1.6", writes: RecordingWrites(), authority: authority, maxConnections: 2)
        defer { Task { await server.shutdown() } }
        let port = try #require(server.localAddress?.port)
        let held = [try await WebhookTestClient.connect(host: "127.94.1.6", port: port, caPEM: authority.certificatePEM),
                    try await WebhookTestClient.connect(host: "127.94.1.6", port: port, caPEM: authority.certificatePEM)]
        await #expect(throws: (any Error).self) {
            _ = try await WebhookTestClient.request(host: "127.94.1.6", port: port, method: .GET, path: "/healthz", caPEM: authority.certificatePEM)
        }
        for channel in held { try? await channel.close() }
        try await Self.eventually {
            (try? await WebhookTestClient.request(host: "127.94.1.6", port: port, method: .GET, path: "/healthz", caPEM: authority.certificatePEM))?.status == 200
        }
    }

    static func eventually(within limit: Duration = .seconds(5), _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("condition not met within \(limit)")
    }
}

/// Writes that succeed in memory, fail, or never finish.
struct RecordingWrites: InjectorKubeWrites {
    var hangs = false
    var fails = false

    struct Refused: Error, CustomStringConvertible {
        var description: String { "the API server refused: forbidden" }
    }

    func createSecret(_ secret: CredentialSecret) async throws {
        if hangs { try await Task.sleep(for: .seconds(60)) }
        if fails { throw Refused() }
    }

    func patchWebhookCABundle(configurationName: String, caBundlePEM: String) async throws {}
}

extension JSONValue {
    var arrayValue: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }

    var stringText: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}
