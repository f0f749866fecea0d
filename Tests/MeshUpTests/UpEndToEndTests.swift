import Foundation
import MeshRuntime
import MeshShell
import MeshTesting
import MeshUp
import NIOCore
import NIOHTTP1
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `fsm up` on a copy of deploy/samples/bookstore, through the executable: bookbuyer buys, bookthief
/// is refused, a TrafficSplit edit moves the sales to bookstore-v2, `fsm down` stops everything.
/// Addresses: a test address block: controller .1:6060, pods from .10, services from .100.
@Suite(.timeLimit(.minutes(8)))
struct UpEndToEndTests {
    /// `fsm` sits next to the test bundle in the build directory.
    static func fsmPath(filePath: String = #filePath) -> String? {
        TestExecutables.path(of: "fsm", filePath: filePath)
    }

    /// Runs `fsm ARGS` to completion (at most 4 minutes); output goes to a file, since the detached
    /// children must not hold a pipe open. With a umask of 0, which must not widen any file.
    static func fsm(_ executable: String, _ arguments: [String], in directory: String) async throws -> (status: Int32, output: String) {
        let outputPath = (directory as NSString).appendingPathComponent("fsm-\(arguments[0])-\(UInt32.random(in: 0...UInt32.max)).out")
        let pid = try DetachedProcess.spawn("/bin/sh", ["-c", "umask 0 && exec \"$0\" \"$@\"", executable] + arguments, log: outputPath, newSession: false)
        let status = await DetachedProcess.waitForExit(pid: pid, timeout: .seconds(240)) ?? -1
        return (status, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    static func raw(_ url: String) async -> [String: Any]? {
        guard let components = URLComponents(string: url), let host = components.host, let port = components.port else { return nil }
        guard let response = try? await MeshHTTP.request(host: host, port: port, path: "/raw", timeout: .seconds(5)), response.status == 200 else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(response.body.utf8))) as? [String: Any]
    }

    /// Polls `url`'s /raw until `condition` holds on a counter; returns the last value seen.
    static func waitFor(_ url: String, _ key: String, within seconds: Int, _ condition: (Int) -> Bool) async -> Int? {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var last: Int?
        while ContinuousClock.now < deadline {
            if let value = await raw(url)?[key] as? Int {
                last = value
                if condition(value) { return value }
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
        return last
    }

    /// The controller's state and each pod's credential are owner-only, and the controller gives
    /// nothing to a process on a pod's address without that pod's credential.
    static func checkSecrets(stateDir: String, state: UpState, controller: String) async throws {
        for directory in ["", "/controller", "/pods"] { #expect(SecretsCommandLineTests.mode(stateDir + directory) == 0o700, "\(directory)") }
        for file in ["private.key", "credential.key", "operator.token"] { #expect(SecretsCommandLineTests.mode("\(stateDir)/controller/\(file)") == 0o600, "\(file)") }
        #expect(SecretsCommandLineTests.mode(stateDir + "/up.json") == 0o600)
        for sidecar in state.processes where sidecar.role == .sidecar {
            let pod = try #require(sidecar.pod)
            let podDirectory = "\(stateDir)/pods/\(pod.replacingOccurrences(of: "/", with: "_"))"
            #expect(SecretsCommandLineTests.mode(podDirectory) == 0o700, "\(pod)")
            #expect(SecretsCommandLineTests.mode(podDirectory + "/credential") == 0o600, "\(pod)")
            #expect(sidecar.arguments.contains(podDirectory + "/credential"), "\(sidecar.arguments)")
        }
        let buyerIP = try #require(state.pods.first { $0.pod == "bookbuyer/bookbuyer-0" }?.ip)
        let thiefCredential = try String(contentsOfFile: stateDir + "/pods/bookthief_bookthief-0/credential", encoding: .utf8)
        let operatorToken = try String(contentsOfFile: stateDir + "/controller/operator.token", encoding: .utf8)
        func call(_ method: HTTPMethod, _ path: String, _ token: String?) async throws -> Int {
            let headers = token.map { [("authorization", "Bearer \($0.trimmingCharacters(in: .whitespacesAndNewlines))")] } ?? []
            return try await MeshHTTP.request(host: controller, port: 6060, method: method, path: path, headers: headers, body: method == .POST ? "x" : nil,
                                                      timeout: .seconds(5), localAddress: buyerIP).status
        }
        #expect(try await call(.POST, "/v1/certificates/bookbuyer/bookbuyer-0", nil) == 401)
        #expect(try await call(.POST, "/v1/certificates/bookbuyer/bookbuyer-0", thiefCredential) == 403)
        #expect(try await call(.GET, "/v1/configs/bookbuyer/bookbuyer-0", nil) == 401)
        #expect(try await call(.GET, "/v1/pods", nil) == 401)
        #expect(try await call(.GET, "/v1/pods", operatorToken) == 200)
    }

    /// A fresh temporary directory holding a copy of the sample manifests (`manifests`) and room
    /// for the state dir (`state`).
    static func workspace(_ name: String) throws -> (directory: String, manifests: String, stateDir: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UInt32.random(in: 0...UInt32.max))").path
        let manifests = (directory as NSString).appendingPathComponent("manifests")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: SampleManifestsTests.samples, toPath: manifests)
        return (directory, manifests, (directory as NSString).appendingPathComponent("state"))
    }

    @Test func bookstoreDemoRunsAsProcesses() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let fsm = try #require(Self.fsmPath(), "the fsm executable is not in the build directory")
        let (directory, manifests, stateDir) = try Self.workspace("mesh-up-e2e")
        let upArguments = ["up", "--manifests", manifests, "--state-dir", stateDir, "--controller-listen", "\(block.address(1)):6060",
                           "--first-pod-ip", block.address(10), "--first-service-ip", block.address(100), "--timeout", "180"]
        var recorded: [UpState.Started] = []
        do {
            let up = try await Self.fsm(fsm, upArguments, in: directory)
            try #require(up.status == 0, "fsm up failed: \(up.output)")
            let state = try #require(try UpState.load(from: stateDir))
            recorded = state.processes
            #expect(state.processes.filter { $0.role == .sidecar }.count == 5)
            #expect(state.processes.filter { $0.role == .app }.count == 5)
            #expect(up.output.contains("bookbuyer") && up.output.contains(block.address(10)))
            func appURL(_ app: String, identity: String? = nil) throws -> String {
                let rows = state.pods.filter { $0.app == app && (identity == nil || $0.pod.contains(identity!)) }
                return try #require(rows.first?.appURL, "no \(app) row in \(state.pods)")
            }
            let buyer = try appURL("bookbuyer"), thief = try appURL("bookthief")
            let storeV2 = try appURL("bookstore", identity: "bookstore-v2")
            try await Self.checkSecrets(stateDir: stateDir, state: state, controller: block.address(1))

            // A second `fsm up` on the same state dir is refused while the first runs.
            let again = try await Self.fsm(fsm, upArguments, in: directory)
            #expect(again.status != 0)
            #expect(again.output.contains("fsm down"))

            // bookbuyer buys from bookstore-v1 (split 100/0); bookthief has no TrafficTarget and is refused.
            let bought = await Self.waitFor(buyer, "booksBoughtV1", within: 120) { $0 >= 2 }
            #expect((bought ?? 0) >= 2, "bookbuyer bought \(bought ?? -1) books from v1")
            let refused = await Self.waitFor(thief, "refused", within: 60) { $0 >= 2 }
            #expect((refused ?? 0) >= 2)
            #expect(await Self.raw(thief)?["booksStolen"] as? Int == 0)
            #expect(await Self.raw(buyer)?["booksBoughtV2"] as? Int == 0)

            // Move every sale to v2 by editing the TrafficSplit file; the controller re-reads it.
            let splitFile = (manifests as NSString).appendingPathComponent("60-traffic-split.yaml")
            var split = try String(contentsOfFile: splitFile, encoding: .utf8)
            split = split.replacingOccurrences(of: "weight: 100", with: "weight: __V2__").replacingOccurrences(of: "weight: 0", with: "weight: 100")
                .replacingOccurrences(of: "weight: __V2__", with: "weight: 0")
            try split.write(toFile: splitFile, atomically: true, encoding: .utf8)
            let boughtV2 = await Self.waitFor(buyer, "booksBoughtV2", within: 90) { $0 >= 2 }
            #expect((boughtV2 ?? 0) >= 2, "bookbuyer bought \(boughtV2 ?? -1) books from v2 after the split edit")
            #expect((await Self.raw(storeV2)?["booksSold"] as? Int ?? 0) >= 2)
        } catch {
            Issue.record(error)
        }
        // Always: stop everything, then check it is gone.
        let down = try await Self.fsm(fsm, ["down", "--state-dir", stateDir], in: directory)
        #expect(down.status == 0, "fsm down failed: \(down.output)")
        for process in recorded {
            #expect(!DetachedProcess.isRunning(pid: process.pid, startTime: process.startTime), "\(process.role) \(process.pod ?? "") still runs")
        }
        #expect(try UpState.load(from: stateDir) == nil)
        if recorded.isEmpty { print((try? String(contentsOfFile: (stateDir as NSString).appendingPathComponent("logs/controller.log"), encoding: .utf8)) ?? "no controller log") }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
