import Foundation
import MeshControl
import MeshIdentity
import MeshInject
import MeshManifest
import MeshModel
import Testing

/// The injection webhook against recorded AdmissionReviews for the guides' pod shapes
/// (`Fixtures/<case>.request.json`, answered against `Fixtures/cluster.yaml`): the response, the
/// decoded JSON patch and the credential Secret must equal the golden files byte for byte.
/// `FSM_UPDATE_GOLDEN=1 swift test --filter GoldenAdmissionTests` rewrites them (and fails, so a
/// rewrite is never mistaken for a pass).
@Suite struct GoldenAdmissionTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let cases = [
        "plain", "http-probes", "tcp-probes", "https-probe", "host-network", "disabled-annotation", "namespace-not-monitored",
        "exclusions", "invalid-annotation", "two-containers", "dry-run",
    ]

    static func read(_ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
    }

    static func cluster() throws -> InjectorClusterState {
        var state = InjectorClusterState(controlPlaneNamespace: "fsm-system")
        state.apply(try ManifestDecoder.decode(read("cluster.yaml"), file: "cluster.yaml").map { .upsert($0.resource) })
        return state
    }

    static func webhook() throws -> AdmissionWebhook {
        let settings = InjectorSettings(image: "flomesh/swift-mesh:v0.10.0")
        return AdmissionWebhook(injector: PodInjector(settings: settings, credentials: try CredentialAuthority(keyBytes: [UInt8](repeating: 7, count: 32))))
    }

    /// The uuid the shell would draw, fixed per case.
    static func uuid(_ name: String) -> String {
        let index = cases.firstIndex(of: name) ?? 0
        return "00000000-0000-4000-8000-" + String(repeating: "0", count: 10) + (index < 10 ? "0" : "") + String(index)
    }

    /// What the webhook answers for a case, and the Secret it would create first.
    static func answer(_ name: String) throws -> (answer: WebhookAnswer, secret: CredentialSecret?) {
        let step = try webhook().handle(method: "POST", path: AdmissionWebhook.mutatePodPath, contentType: "application/json",
                                        body: read("\(name).request.json"), cluster: cluster(), proxyUUID: uuid(name))
        switch step {
        case .answer(let answer): return (answer, nil)
        case .createSecret(let secret, let pending): return (pending.created(), secret)
        }
    }

    static func patch(in response: JSONValue) throws -> JSONValue? {
        guard case .string(let encoded)? = response["response"]?["patch"] else { return nil }
        let bytes = try #require(Data(base64Encoded: encoded))
        return try JSONValue(parsing: String(decoding: bytes, as: UTF8.self))
    }

    /// Equal to the golden file, or (with FSM_UPDATE_GOLDEN) written to it.
    static func expectGolden(_ text: String, _ file: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let url = fixtures.appendingPathComponent(file)
        if ProcessInfo.processInfo.environment["FSM_UPDATE_GOLDEN"] != nil {
            try text.write(to: url, atomically: true, encoding: .utf8)
            Issue.record("golden file \(file) rewritten; run again without FSM_UPDATE_GOLDEN", sourceLocation: sourceLocation)
            return
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        guard golden != text else { return }
        let (a, b) = (golden.split(separator: "\n", omittingEmptySubsequences: false), text.split(separator: "\n", omittingEmptySubsequences: false))
        let line = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
        Issue.record("\(file) differs at line \(line + 1): golden \(line < a.count ? String(a[line]) : "<end>") | now \(line < b.count ? String(b[line]) : "<end>")",
                     sourceLocation: sourceLocation)
    }

    @Test(arguments: cases) func answersMatchTheGoldenFiles(_ name: String) throws {
        let (answer, secret) = try Self.answer(name)
        #expect(answer.status == 200)
        #expect(answer.contentType == "application/json")
        let response = try JSONValue(parsing: answer.body)
        // The wire form is the compact rendering of exactly this value.
        #expect(response.rendered() == answer.body)
        try Self.expectGolden(response.rendered(pretty: true) + "\n", "\(name).response.json")
        if let patch = try Self.patch(in: response) {
            try Self.expectGolden(patch.rendered(pretty: true) + "\n", "\(name).patch.json")
        } else {
            #expect(!FileManager.default.fileExists(atPath: Self.fixtures.appendingPathComponent("\(name).patch.json").path))
        }
        if let secret {
            try Self.expectGolden(secret.manifest.rendered(pretty: true) + "\n", "\(name).secret.json")
        }
    }

    @Test func onlyInjectedPodsGetAPatchAndOnlyRealCreationsASecret() throws {
        for name in Self.cases {
            let (answer, secret) = try Self.answer(name)
            let response = try JSONValue(parsing: answer.body)
            let injected = ["plain", "http-probes", "tcp-probes", "https-probe", "exclusions", "two-containers", "dry-run"].contains(name)
            #expect((try Self.patch(in: response) != nil) == injected, "\(name)")
            #expect((secret != nil) == (injected && name != "dry-run"), "\(name)")
            #expect(response["response"]?["allowed"] == .bool(name != "invalid-annotation"), "\(name)")
            #expect(response["response"]?["uid"] == (try JSONValue(parsing: Self.read("\(name).request.json")))["request"]?["uid"], "\(name)")
        }
    }

    @Test func theInvalidAnnotationIsRefusedWithTheReason() throws {
        let response = try JSONValue(parsing: Self.answer("invalid-annotation").answer.body)
        #expect(response["response"]?["status"]?["message"] == .string(
            "invalid value \"sometimes\" of annotation flomesh.io/sidecar-injection on the pod: expected enabled, yes, true, disabled, no or false"))
        #expect(response["response"]?["status"]?["code"] == .int(400))
    }

    @Test func theSecretHoldsACredentialTheControllerAcceptsForTheLabelledPod() throws {
        let (_, secret) = try Self.answer("plain")
        let made = try #require(secret)
        let authority = try CredentialAuthority(keyBytes: [UInt8](repeating: 7, count: 32))
        #expect(try authority.verify(token: made.token).get() == .proxy(namespace: "bookstore", uuid: Self.uuid("plain")))
        guard case .string(let encoded)? = made.manifest["data"]?["credential"] else { Issue.record("no data.credential"); return }
        #expect(Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) } == made.token)
        // Another key (another mesh, a rotated key) does not accept it.
        #expect((try CredentialAuthority(keyBytes: [UInt8](repeating: 8, count: 32))).verify(token: made.token) == .failure(.invalid))
    }
}
