import Foundation
import MeshModel
import MeshRuntime
import MeshShell
import MeshTesting
import MeshUp
import NIOCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `fsm up` supervises what it starts (`fsm supervise`, the kubelet's role), through the
/// executable: a sidecar killed with SIGKILL makes its pod not ready (it leaves the endpoints, so
/// bookbuyer keeps buying from the other bookstore replica without failures), is started again
/// after the restart backoff from its cache, and the pod is ready again; `fsm down` stops the
/// supervisor first and says what it stopped. Short probe period and backoff (test settings).
/// Addresses: the suite's block (`TestAddressBlock.suite`): controller .1:6060, pods from .10, services from .100.
@Suite(.timeLimit(.minutes(8)))
struct UpSupervisionEndToEndTests {
    static func address(_ host: Int) throws -> String { try TestAddressBlock.suite("UpSupervisionEndToEndTests").address(host) }
    static var controller: (host: String, port: Int) { get throws { (try address(1), 6060) } }

    /// The readiness the controller holds for `pod`, read as the operator (the token `fsm up`'s controller wrote).
    static func podStatus(_ pod: String, stateDir: String) async -> Bool? {
        guard let token = try? String(contentsOfFile: stateDir + "/controller/operator.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
              let answer = try? await MeshHTTP.request(host: controller.host, port: controller.port, path: "/v1/pods/\(pod)",
                                                               headers: [("authorization", "Bearer \(token)")], timeout: .seconds(2)),
              answer.status == 200, case .bool(let ready)? = (try? JSONValue(parsing: answer.body))?["ready"] else { return nil }
        return ready
    }

    static func until(_ seconds: Double, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return await condition()
    }

    static func counter(_ url: String, _ key: String) async -> Int? {
        await UpEndToEndTests.raw(url)?[key] as? Int
    }

    @Test func aKilledSidecarLeavesTheEndpointsIsRestartedAndComesBack() async throws {
        let fsm = try #require(UpEndToEndTests.fsmPath(), "the fsm executable is not in the build directory")
        let (directory, manifests, stateDir) = try UpEndToEndTests.workspace("mesh-up-supervise")
        // Two bookstore-v1 replicas (bookstore-0 and bookstore-1) behind the split's v1 backend.
        let storeFile = (manifests as NSString).appendingPathComponent("30-bookstore.yaml")
        try String(contentsOfFile: storeFile, encoding: .utf8).replacingOccurrences(of: "replicas: 1", with: "replicas: 2")
            .write(toFile: storeFile, atomically: true, encoding: .utf8)
        let up = try ["up", "--manifests", manifests, "--state-dir", stateDir, "--controller-listen", "\(Self.controller.host):\(Self.controller.port)",
                  "--first-pod-ip", try Self.address(10), "--first-service-ip", try Self.address(100), "--timeout", "180",
                  "--probe-period", "0.25", "--probe-failure-threshold", "2", "--restart-backoff", "20", "--restart-backoff-max", "40"]
        var recorded: [UpState.Started] = []
        do {
            let started = try await UpEndToEndTests.fsm(fsm, up, in: directory)
            try #require(started.status == 0, "fsm up failed: \(started.output)")
            let state = try #require(try UpState.load(from: stateDir))
            recorded = state.processes
            let supervisor = try #require(state.processes.first { $0.role == .supervisor })
            #expect(DetachedProcess.isRunning(pid: supervisor.pid, startTime: supervisor.startTime))
            let victim = try #require(state.processes.first { $0.role == .sidecar && $0.pod == "bookstore/bookstore-0" })
            #expect(victim.probe?.path == "/ready")
            let buyer = try #require(state.pods.first { $0.app == "bookbuyer" }?.appURL)
            #expect(await UpEndToEndTests.waitFor(buyer, "booksBoughtV1", within: 120) { $0 >= 2 } ?? 0 >= 2)
            #expect(await Self.podStatus("bookstore/bookstore-0", stateDir: stateDir) == true)

            // SIGKILL: the supervisor's probes fail, the pod is not ready and leaves the endpoints.
            kill(victim.pid, SIGKILL)
            #expect(await Self.until(10) { await Self.podStatus("bookstore/bookstore-0", stateDir: stateDir) == false }, "the controller never heard bookstore-0 is not ready")
            // Once the clients have the config without it, bookbuyer keeps buying (from bookstore-1)
            // and fails no more, while the sidecar waits out its restart backoff.
            try await Task.sleep(for: .milliseconds(500))
            let failures = await Self.counter(buyer, "failures")
            let bought = await Self.counter(buyer, "booksBought") ?? 0
            #expect(await Self.until(7) { (await Self.counter(buyer, "booksBought") ?? 0) > bought }, "bookbuyer stopped buying")
            let gapWasOpen = await Self.podStatus("bookstore/bookstore-0", stateDir: stateDir) == false
            #expect(gapWasOpen, "the sidecar came back before bookbuyer bought again: the gap was not observed")
            #expect(await Self.counter(buyer, "failures") == failures)

            // Restarted after the backoff (same arguments, its cache), and ready again.
            #expect(await Self.until(40) {
                guard let now = try? UpState.load(from: stateDir)?.processes.first(where: { $0.role == .sidecar && $0.pod == "bookstore/bookstore-0" }) else { return false }
                return now.pid != victim.pid && now.restarts == 1 && DetachedProcess.isRunning(pid: now.pid, startTime: now.startTime)
            }, "the sidecar was not restarted")
            #expect(await Self.until(15) { await Self.podStatus("bookstore/bookstore-0", stateDir: stateDir) == true }, "bookstore-0 is not ready again")
            let cache = (stateDir as NSString).appendingPathComponent("pods/bookstore_bookstore-0/cache")
            var info = stat()
            #expect(lstat(cache, &info) == 0 && info.st_mode & 0o777 == 0o700)
            recorded = (try UpState.load(from: stateDir))?.processes ?? recorded
        } catch {
            Issue.record(error)
        }
        let down = try await UpEndToEndTests.fsm(fsm, ["down", "--state-dir", stateDir], in: directory)
        #expect(down.status == 0, "fsm down failed: \(down.output)")
        let lines = down.output.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("stopped: supervisor (pid ") == true, "\(down.output)")
        if let restarted = recorded.first(where: { $0.role == .sidecar && $0.pod == "bookstore/bookstore-0" }) {
            #expect(lines.contains("stopped: sidecar of bookstore/bookstore-0 (pid \(restarted.pid))"), "\(down.output)")
        }
        #expect(lines.contains { $0.hasPrefix("stopped \(recorded.count) of \(recorded.count) processes") }, "\(down.output)")
        for process in recorded {
            #expect(!DetachedProcess.isRunning(pid: process.pid, startTime: process.startTime), "\(process.what) still runs")
        }
        if recorded.isEmpty { print((try? String(contentsOfFile: (stateDir as NSString).appendingPathComponent("logs/controller.log"), encoding: .utf8)) ?? "no controller log") }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
