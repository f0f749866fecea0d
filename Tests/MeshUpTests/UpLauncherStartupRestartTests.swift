import Foundation
import Logging
import MeshUp
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A container of a pod that exits before it is ready is started again, as the kubelet restarts
/// it, up to `UpLauncher.startupRestarts` times; then `fsm up` fails naming how it exited.
@Suite(.timeLimit(.minutes(1)))
struct UpLauncherStartupRestartTests {
    static let logger = Logger(label: "test.up")

    /// A started `/bin/sh -c script` recorded in a fresh state as an app of pod a/b.
    static func started(_ script: String, in directory: String) throws -> (UpSettings, UpState, UpState.Started) {
        let settings = UpSettings(manifests: directory, stateDirectory: directory, executable: "/bin/sh")
        let log = (directory as NSString).appendingPathComponent("app.log")
        let arguments = ["-c", "cd '\(directory)' && " + script]
        let pid = try DetachedProcess.spawn(settings.executable, arguments, log: log)
        let process = UpState.Started(role: .app, pod: "a/b", pid: pid, startTime: DetachedProcess.startTime(pid: pid), log: log, arguments: arguments)
        var state = UpState(manifests: directory, controllerURL: "http://127.0.0.1:1")
        state.processes = [process]
        try state.save(in: directory)
        return (settings, state, process)
    }

    @Test func aContainerKilledBeforeItIsReadyStartsAgain() async throws {
        let directory = try UpStateTests.temporaryDirectory("restart")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The first run kills itself as a stray SIGKILL would; the second becomes ready.
        var (settings, state, process) = try Self.started("if [ -e first ]; then touch ready; exec sleep 30; fi; touch first; kill -9 $$", in: directory)
        let ready = (directory as NSString).appendingPathComponent("ready")
        let running = try await UpLauncher.waitRestarting("app of a/b", process: process, settings: settings, state: &state,
                                                          deadline: .now + .seconds(20), logger: Self.logger) {
            FileManager.default.fileExists(atPath: ready)
        }
        defer {
            kill(running.pid, SIGKILL)
            _ = waitpid(running.pid, nil, 0)
        }
        #expect(running.pid != process.pid)
        #expect(running.restarts == 1)
        #expect(DetachedProcess.isRunning(pid: running.pid, startTime: running.startTime))
        #expect(state.processes == [running])
        #expect(try UpState.load(from: directory)?.processes == [running])
    }

    @Test func aContainerThatKeepsExitingFailsNamingHowItExited() async throws {
        let directory = try UpStateTests.temporaryDirectory("crashloop")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var (settings, state, process) = try Self.started("echo starting; exit 3", in: directory)
        do {
            _ = try await UpLauncher.waitRestarting("app of a/b", process: process, settings: settings, state: &state,
                                                    deadline: .now + .seconds(20), logger: Self.logger) { false }
            Issue.record("a container that always exits was taken for ready")
        } catch let error as UpError {
            let text = error.description
            #expect(text.contains("app of a/b exited (exit status 3) after \(UpLauncher.startupRestarts) restarts; its log"), "\(text)")
            #expect(text.hasSuffix("starting\nstarting\nstarting\n"), "\(text)")
        }
        #expect(state.processes.count == 1)
        #expect(state.processes.first?.restarts == UpLauncher.startupRestarts)
    }
}
