import Foundation
import Glibc
import MeshKube
import MeshKubeTesting
import MeshModel
import MeshShell
import MeshTesting
import Testing

/// `fsm controller --kubernetes` as a user runs it, against the API-server double through a
/// kubeconfig: ready once synced, the operator sees the meshed pods, a caller without credential
/// gets nothing, SIGTERM releases the leader lease; a bad kubeconfig is one line and exit 64.
/// Addresses: 127.93.16.1 (double, port 0), .2:16060 (API) and :19091 (operations) of a test address block.
@Suite(.timeLimit(.minutes(2)))
struct ControllerCommandTests {
    static func kubeconfig(server: String, token: String, in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("kubeconfig").path
        let text = """
        apiVersion: v1
        kind: Config
        current-context: double
        clusters:
        - name: double
          cluster:
            server: \(server)
        contexts:
        - name: double
          context: {cluster: double, user: fsm}
        users:
        - name: fsm
          user:
            token: \(token)

        """
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func run(_ arguments: [String], output: URL) throws -> SpawnedProcess {
        try SpawnedProcess.spawn(ProcessLaunch(try #require(TestExecutables.path(of: "fsm"), "the fsm executable is not in the build directory"), arguments,
                                               standardOutput: .file(output.path, append: false), standardError: .standardOutput))
    }

    @Test func theControllerWatchesTheClusterServesAndReleasesItsLeaseOnSIGTERM() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fsm-kube-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let double = try await KubeAPIDouble.start(.init(host: KubeTestNet.host(16, 1), tokens: ["cli-token"]))
        try await double.load(list: bookstoreFixture())
        let config = try Self.kubeconfig(server: double.url, token: "cli-token", in: directory)
        let state = directory.appendingPathComponent("state").path
        let log = directory.appendingPathComponent("controller.log")
        let block = try TestAddressBlock.lease() // the API's and operations' ports are fixed
        defer { block.release() }
        let host = block.address(2)
        let process = try Self.run(["controller", "--kubernetes", "--kubeconfig", config, "--state-dir", state, "--listen", "\(host):16060",
                                    "--operations-listen", "\(host):19091", "--leader-identity", "cli-test"], output: log)
        defer { process.terminate() }
        do {
            #expect(await eventually(.seconds(30)) { (try? await KubeControllerTests.call("http://\(host):19091/health/ready"))?.status == 200 })
            // The token is written once the controller has started, which may be just after it reports ready.
            #expect(await eventually(.seconds(10)) { FileManager.default.fileExists(atPath: state + "/operator.token") })
            let operatorToken = try String(contentsOfFile: state + "/operator.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let pods = try await KubeControllerTests.call("http://\(host):16060/v1/pods", token: operatorToken)
            #expect(pods.status == 200)
            let listed = try JSONValue(parsing: pods.body)
            guard case .array(let entries) = listed else { Issue.record("expected a list of pods"); return }
            #expect(entries.compactMap { $0["ip"]?.stringValue }.sorted() == ["127.1.0.10", "127.1.0.11", "127.1.0.12", "127.1.0.13", "127.1.0.14"])
            let anonymous = try await KubeControllerTests.call("http://\(host):16060/v1/configs/bookbuyer/bookbuyer-0")
            #expect(anonymous.status == 401)
            #expect(await double.object(.leases, namespace: "fsm-system", name: "fsm-controller-leader")?["spec"]?["holderIdentity"] == .string("cli-test"))
            process.send(SIGTERM)
            #expect(process.wait() == .exited(0))
            // Shut down in order: nothing is scheduled on a loop that is gone (NIO says so on stderr).
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            #expect(!output.contains("Cannot schedule tasks"), "\(output)")
            let lease = await double.object(.leases, namespace: "fsm-system", name: "fsm-controller-leader")
            #expect(lease?["spec"]?["holderIdentity"] == .string(""), "the lease is released for the next replica")
            let requests = await double.requests()
            #expect(requests.allSatisfy { $0.authorization == "Bearer cli-token" })
        } catch {
            Issue.record(error)
            Issue.record(Comment(rawValue: (try? String(contentsOf: log, encoding: .utf8)) ?? "no log"))
        }
        await double.shutdown()
    }

    /// The informers start before the listener: when it cannot listen, the command fails with
    /// one line and the informers, still delivering, schedule nothing on the controller's stopped
    /// loop (NIO would say "Cannot schedule tasks on an EventLoop that has already shut down").
    @Test func aTakenListenAddressFailsWithOneLineAndShutsDownInOrder() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fsm-kube-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let double = try await KubeAPIDouble.start(.init(host: block.address(1), tokens: ["cli-token"]))
        try await double.load(list: bookstoreFixture())
        let config = try Self.kubeconfig(server: double.url, token: "cli-token", in: directory)
        let taken = try await KubeAPIDouble.start(.init(host: block.address(2)))
        let port = try #require(URL(string: taken.url)?.port)
        let log = directory.appendingPathComponent("controller.log")
        let process = try Self.run(["controller", "--kubernetes", "--kubeconfig", config, "--state-dir", directory.appendingPathComponent("state").path,
                                    "--listen", "\(block.address(2)):\(port)", "--leader-identity", "cli-test"], output: log)
        let termination = process.wait()
        await taken.shutdown()
        await double.shutdown()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(termination == .exited(1), "\(output)")
        #expect(output.contains("Error: cannot listen on \(block.address(2)):\(port): address already in use"), "\(output)")
        #expect(!output.contains("Cannot schedule tasks"), "\(output)")
    }

    @Test func aBadKubeconfigIsOneLineAndAUsageError() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fsm-kube-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("kubeconfig")
        try Data("apiVersion: v1\nkind: Config\ncurrent-context: nowhere\nclusters: []\n".utf8).write(to: config)
        let log = directory.appendingPathComponent("out.log")
        let process = try Self.run(["controller", "--kubernetes", "--kubeconfig", config.path, "--state-dir", directory.appendingPathComponent("state").path], output: log)
        #expect(process.wait() == .exited(64))
        let output = try String(contentsOf: log, encoding: .utf8)
        #expect(output.hasPrefix("Error: kubeconfig: \(config.path):1:1: no context named \"nowhere\"; none defined\n"))
    }
    @Test(arguments: [
        (["controller", "--kubernetes", "--gateway"], "Error: --gateway and --ingress need --gateway-image IMAGE (the image of the pods they deploy)"),
        (["controller", "--manifests", "/tmp", "--ingress"], "Error: --gateway, --ingress and --gateway-image go with --kubernetes (with --manifests every gateway kind is read)"),
    ])
    func gatewayFlagsOutOfPlaceAreOneLineAndAUsageError(arguments: [String], message: String) throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("fsm-kube-cli-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let process = try Self.run(arguments, output: log)
        #expect(process.wait() == .exited(64))
        #expect(try String(contentsOf: log, encoding: .utf8).hasPrefix(message + "\n"))
    }
}
