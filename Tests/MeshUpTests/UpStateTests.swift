import Foundation
import MeshUp
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The state dir: what `fsm up` records, its refusal to start twice, `fsm down` stopping only what it recorded.
@Suite(.timeLimit(.minutes(1)))
struct UpStateTests {
    static func temporaryDirectory(_ name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mesh-up-\(name)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    @Test func stateRoundTripsAndRendersItsTable() throws {
        let directory = try Self.temporaryDirectory("state")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var state = UpState(manifests: "/m", controllerURL: "http://127.81.0.1:6060")
        state.processes = [UpState.Started(role: .controller, pod: nil, pid: 123, startTime: 9, log: "/l/controller.log", arguments: ["controller"])]
        state.pods = [UpState.PodRow(pod: "bookbuyer/bookbuyer-0", ip: "127.81.1.10", app: "bookbuyer", appURL: "http://127.81.1.10:14001/",
                                     adminURL: "http://127.81.1.10:15000/stats")]
        try state.save(in: directory)
        #expect(try UpState.load(from: directory) == state)
        let lines = state.table.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("POD"))
        #expect(lines[1].contains("bookbuyer/bookbuyer-0") && lines[1].contains("http://127.81.1.10:14001/") && lines[1].hasSuffix("http://127.81.1.10:15000/stats"))
        try UpState.remove(from: directory)
        #expect(try UpState.load(from: directory) == nil)
    }

    @Test func brokenStateIsAClearError() throws {
        let directory = try Self.temporaryDirectory("broken")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: UpState.path(in: directory)))
        #expect(throws: UpError.self) { try UpState.load(from: directory) }
    }

    @Test func upRefusesARunningStateDirAndDownStopsOnlyWhatItRecorded() async throws {
        let directory = try Self.temporaryDirectory("twice")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = (directory as NSString).appendingPathComponent("sleep.log")
        let recorded = try DetachedProcess.spawn("/bin/sleep", ["60"], log: log)
        let bystander = try DetachedProcess.spawn("/bin/sleep", ["60"], log: log)
        defer { kill(bystander, SIGKILL); kill(recorded, SIGKILL) }
        var state = UpState(manifests: "/m", controllerURL: "http://127.81.0.1:6060")
        state.processes = [UpState.Started(role: .app, pod: "a/b", pid: recorded, startTime: DetachedProcess.startTime(pid: recorded), log: log, arguments: ["60"])]
        try state.save(in: directory)

        let settings = UpSettings(manifests: directory, stateDirectory: directory, executable: "/bin/false")
        await #expect(throws: UpError.alreadyRunning(stateDirectory: directory, pids: [recorded])) { try await UpLauncher.up(settings) }

        let stopped = try #require(try await UpLauncher.down(stateDirectory: directory, grace: .seconds(5)))
        #expect(stopped.map(\.process) == state.processes)
        #expect(stopped.map(\.outcome) == [.stopped])
        #expect(!DetachedProcess.isRunning(pid: recorded, startTime: state.processes[0].startTime))
        #expect(DetachedProcess.isRunning(pid: bystander, startTime: DetachedProcess.startTime(pid: bystander)))
        #expect(try UpState.load(from: directory) == nil)
        #expect(try await UpLauncher.down(stateDirectory: directory) == nil)
    }

    @Test func downStopsTheSupervisorFirstAndSaysWhatEachProcessCameTo() async throws {
        let directory = try Self.temporaryDirectory("order")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = (directory as NSString).appendingPathComponent("sleep.log")
        let controller = try DetachedProcess.spawn("/bin/sleep", ["60"], log: log)
        let supervisor = try DetachedProcess.spawn("/bin/sleep", ["60"], log: log)
        let gone = try DetachedProcess.spawn("/bin/true", [], log: log)
        _ = await DetachedProcess.waitForExit(pid: gone, timeout: .seconds(10))
        defer { kill(controller, SIGKILL); kill(supervisor, SIGKILL) }
        func started(_ role: UpState.Started.Role, _ pid: Int32, pod: String? = nil) -> UpState.Started {
            UpState.Started(role: role, pod: pod, pid: pid, startTime: DetachedProcess.startTime(pid: pid), log: log, arguments: [])
        }
        var state = UpState(manifests: "/m", controllerURL: "http://127.81.0.1:6060")
        state.processes = [started(.controller, controller), started(.app, gone, pod: "a/b"), started(.supervisor, supervisor)]
        try state.save(in: directory)

        let stopped = try #require(try await UpLauncher.down(stateDirectory: directory, grace: .seconds(5)))
        #expect(stopped.map(\.process.pid) == [supervisor, gone, controller])
        #expect(stopped.map(\.outcome) == [.stopped, .notRunning, .stopped])
        #expect(stopped.map(\.process.what) == ["supervisor", "app of a/b", "controller"])
        #expect(!DetachedProcess.isRunning(pid: controller, startTime: state.processes[0].startTime))
    }

    @Test func aReusedPidIsNotTakenForTheRecordedProcess() throws {
        let directory = try Self.temporaryDirectory("reuse")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pid = try DetachedProcess.spawn("/bin/sleep", ["60"], log: (directory as NSString).appendingPathComponent("sleep.log"))
        defer { kill(pid, SIGKILL) }
        let startTime = try #require(DetachedProcess.startTime(pid: pid))
        #expect(DetachedProcess.isRunning(pid: pid, startTime: startTime))
        #expect(!DetachedProcess.isRunning(pid: pid, startTime: startTime + 1))
    }

    @Test func badManifestsAreReportedWithTheirLineAndNothingStarts() async throws {
        let directory = try Self.temporaryDirectory("bad")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manifests = (directory as NSString).appendingPathComponent("manifests")
        try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
        try Data("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 0\n".utf8)
            .write(to: URL(fileURLWithPath: (manifests as NSString).appendingPathComponent("web.yaml")))
        let state = (directory as NSString).appendingPathComponent("state")
        let settings = UpSettings(manifests: manifests, stateDirectory: state, executable: "/bin/false")
        do {
            _ = try await UpLauncher.up(settings)
            Issue.record("fsm up accepted a bad manifest")
        } catch let error as UpError {
            guard case .badManifests(let problems) = error else { Issue.record("unexpected \(error)"); return }
            #expect(problems.count == 1)
            #expect(problems.first?.contains("web.yaml:7:") == true)
        }
        #expect(try UpState.load(from: state) == nil)
    }

    @Test func manifestsWithoutPodsAreRefused() async throws {
        let directory = try Self.temporaryDirectory("empty")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let settings = UpSettings(manifests: directory, stateDirectory: (directory as NSString).appendingPathComponent("state"), executable: "/bin/false")
        await #expect(throws: UpError.noPods(directory)) { try await UpLauncher.up(settings) }
    }
}
