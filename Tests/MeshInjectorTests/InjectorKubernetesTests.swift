import Foundation
import MeshIdentity
import MeshInstall
import MeshKube
import MeshKubeTesting
import MeshModel
import MeshShell
import MeshTesting
import Testing

/// `fsm injector --kubernetes` as `fsm install`'s Deployment runs it (its rendered arguments, plus
/// a kubeconfig and a local listener): the mesh CA and credential key from the Secrets the
/// controller created, namespaces from informers, the pod's credential Secret created and the
/// webhooks' caBundle patched through the API (double and webhook on .1 and .2 of a test address block).
@Suite(.timeLimit(.minutes(2)))
struct InjectorKubernetesTests {
    static func namespace(_ name: String, labels: [(String, JSONValue)], annotations: [(String, JSONValue)]) -> JSONValue {
        .object([("apiVersion", .string("v1")), ("kind", .string("Namespace")),
                 ("metadata", .object([("name", .string(name)), ("labels", .object(labels)), ("annotations", .object(annotations))]))])
    }

    static func secret(_ name: String, _ data: [(String, [UInt8])]) -> JSONValue {
        .object([("apiVersion", .string("v1")), ("kind", .string("Secret")),
                 ("metadata", .object([("name", .string(name)), ("namespace", .string("fsm-system"))])),
                 ("data", .object(data.map { ($0.0, .string(Data($0.1).base64EncodedString())) }))])
    }

    /// The injector container's arguments in the Deployment `fsm install` renders.
    static func renderedInjectorArguments() throws -> [String] {
        let deployment = try #require(ControlPlaneManifests().documents().first {
            $0["kind"]?.stringValue == "Deployment" && $0["metadata"]?["name"]?.stringValue == "fsm-injector"
        })
        guard case .array(let containers)? = deployment["spec"]?["template"]?["spec"]?["containers"],
              case .array(let arguments)? = containers.first?["args"] else { throw KubeFixtureError(description: "no container args") }
        return arguments.compactMap(\.stringValue)
    }

    @Test func theRenderedInjectorWatchesTheClusterPatchesThePodAndCreatesItsSecret() async throws {
        let directory = try InjectorServerTests.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let double = try await KubeAPIDouble.start(.init(host: block.address(1), tokens: ["injector-token"]))
        let authority = try InjectorServerTests.authority()
        var generator = SystemRandomNumberGenerator()
        let key = CredentialAuthority.generateKey(using: &generator)
        await double.put(.secrets, [
            Self.secret("fsm-ca-bundle", [("ca.crt", Array(authority.certificatePEM.utf8)), ("private.key", Array(authority.privateKeyPEM.utf8))]),
            Self.secret("fsm-credential-key", [("credential.key", key)]),
        ])
        await double.put(.namespaces, [Self.namespace("bookstore", labels: [("flomesh.io/monitored-by", .string("fsm"))],
                                                      annotations: [("flomesh.io/sidecar-injection", .string("enabled"))])])
        let webhooks = ControlPlaneManifests().documents().filter { $0["kind"]?.stringValue?.hasSuffix("WebhookConfiguration") == true }
        await double.put(.mutatingWebhookConfigurations, webhooks.filter { $0["kind"]?.stringValue == "MutatingWebhookConfiguration" })
        await double.put(.validatingWebhookConfigurations, webhooks.filter { $0["kind"]?.stringValue == "ValidatingWebhookConfiguration" })
        let kubeconfig = """
        apiVersion: v1
        kind: Config
        current-context: double
        clusters: [{name: double, cluster: {server: "\(double.url)"}}]
        contexts: [{name: double, context: {cluster: double, user: injector}}]
        users: [{name: injector, user: {token: injector-token}}]

        """
        try kubeconfig.write(toFile: directory + "/kubeconfig", atomically: true, encoding: .utf8)

        let arguments = try Self.renderedInjectorArguments()
        #expect(Array(arguments.prefix(2)) == ["injector", "--kubernetes"])
        let log = directory + "/injector.log"
        let process = try SpawnedProcess.spawn(ProcessLaunch(
            try #require(InitCommandTests.fsmPath(), "the fsm executable is not in the build directory"),
            arguments + ["--kubeconfig", directory + "/kubeconfig", "--listen", "\(block.address(2)):19543", "--ip-address", block.address(2)],
            workingDirectory: directory, standardOutput: .file(log, append: false), standardError: .standardOutput))
        defer { process.terminate(grace: .seconds(10)) }
        let expectedBundle = JSONValue.string(Data(authority.certificatePEM.utf8).base64EncodedString())
        try await InjectorServerTests.eventually(within: .seconds(30)) {
            let mutating = await double.object(.mutatingWebhookConfigurations, name: "fsm-webhook-config-fsm")
            let validating = await double.object(.validatingWebhookConfigurations, name: "fsm-webhook-config-fsm")
            guard case .array(let hooks)? = mutating?["webhooks"], case .array(let validators)? = validating?["webhooks"] else { return false }
            return (hooks + validators).allSatisfy { $0["clientConfig"]?["caBundle"] == expectedBundle }
        }
        let response = try await WebhookTestClient.request(host: block.address(2), port: 19543, path: "/mutate-pod-creation",
                                                           body: InjectorServerTests.fixture("tcp-probes.request.json"), caPEM: authority.certificatePEM)
        let review = try JSONValue(parsing: response.body)
        #expect(review["response"]?["allowed"] == .bool(true), "\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        #expect(review["response"]?["patchType"] == .string("JSONPatch"))

        let created = await double.writes().filter { $0.verb == .create && $0.type == .secrets }
        #expect(created.count == 1)
        #expect(created.first?.namespace == "bookstore")
        let name = try #require(created.first?.body?["metadata"]?["name"]?.stringValue)
        #expect(name.hasPrefix("fsm-sidecar-credential-"))
        let stored = try #require(await double.object(.secrets, namespace: "bookstore", name: name))
        let token = String(decoding: try #require(Data(base64Encoded: stored["data"]?["credential"]?.stringValue ?? "")), as: UTF8.self)
        guard case .proxy(let namespace, _) = try CredentialAuthority(keyBytes: key).verify(token: token).get() else {
            Issue.record("not a proxy credential")
            return
        }
        #expect(namespace == "bookstore")
        let requests = await double.requests()
        #expect(requests.allSatisfy { $0.authorization == "Bearer injector-token" })
    }
}
