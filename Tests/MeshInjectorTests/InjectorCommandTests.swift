import Foundation
import MeshControlPlane
import MeshIdentity
import MeshModel
import MeshShell
import MeshTesting
import NIOHTTP1
import Testing

/// `fsm injector` as a process: it shares the controller's state directory (the CA signs its
/// certificate, the credential key mints what the controller accepts) and answers reviews for the
/// namespaces of its manifest directory (on a test address block: its port is fixed).
@Suite(.timeLimit(.minutes(2)))
struct InjectorCommandTests {
    @Test func theInjectorServesReviewsWithTheControllersCAAndKey() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let host = block.address(1)
        let directory = try InjectorServerTests.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manifests = directory + "/manifests", state = directory + "/state", writes = directory + "/writes"
        try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
        try InjectorServerTests.fixture("cluster.yaml").write(toFile: manifests + "/cluster.yaml", atomically: true, encoding: .utf8)
        let process = try SpawnedProcess.spawn(ProcessLaunch(
            try #require(InitCommandTests.fsmPath(), "the fsm executable is not in the build directory"),
            ["injector", "--manifests", manifests, "--state-dir", state, "--writes-dir", writes,
             "--listen", "\(host):19443", "--ip-address", host, "--log-level", "error"],
            standardOutput: .null, standardError: .null))
        defer { process.terminate(grace: .seconds(10)) }
        // The CA it made in the state directory (as the controller would have) is what to trust.
        var caPEM = ""
        try await InjectorServerTests.eventually(within: .seconds(20)) {
            guard let text = try? String(contentsOfFile: state + "/ca.crt", encoding: .utf8) else { return false }
            caPEM = text
            return (try? await WebhookTestClient.request(host: host, port: 19443, method: .GET, path: "/healthz", caPEM: text))?.status == 200
        }
        let response = try await WebhookTestClient.request(host: host, port: 19443, path: "/mutate-pod-creation",
                                                           body: InjectorServerTests.fixture("tcp-probes.request.json"), caPEM: caPEM)
        let review = try JSONValue(parsing: response.body)
        #expect(review["response"]?["allowed"] == .bool(true))
        #expect(review["response"]?["patchType"] == .string("JSONPatch"))
        let secrets = try FileManager.default.contentsOfDirectory(atPath: writes + "/secrets/bookstore")
        #expect(secrets.count == 1)
        let token = try String(contentsOfFile: "\(writes)/secrets/bookstore/\(try #require(secrets.first))/credential", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // Minted with the state directory's credential key: the controller started on it accepts it.
        let controllerKey = try ControllerStateDirectory(path: state).loadOrCreateCredentialAuthority()
        guard case .proxy(let namespace, _) = try controllerKey.verify(token: token).get() else {
            Issue.record("not a proxy credential")
            return
        }
        #expect(namespace == "bookstore")
        #expect(FileManager.default.fileExists(atPath: writes + "/ca-bundle.pem"))
    }
}
