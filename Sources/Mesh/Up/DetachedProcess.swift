import Foundation
import Glibc
import MeshShell

/// Processes started to outlive `fsm up`: own session (no terminal signals), stdin from /dev/null,
/// stdout and stderr appended to a log file.
public enum DetachedProcess {
    /// Starts `executable arguments`; returns its pid. Nothing of this process but its environment
    /// goes with the child (MeshShell's `ProcessSpawner` closes every other descriptor: without that
    /// a detached sidecar kept every socket and file its parent had open, a test process's
    /// listeners among them, which then stayed bound after the test closed them and after the
    /// parent died), and it starts with an empty signal mask and default handlers (the caller may
    /// be a thread with signals blocked, as Dispatch and NIO threads are), so SIGTERM from `fsm
    /// down` reaches it.
    public static func spawn(_ executable: String, _ arguments: [String], log: String, newSession: Bool = true) throws -> Int32 {
        let launch = ProcessLaunch(executable, arguments, standardInput: .null, standardOutput: .file(log, append: true),
                                   standardError: .standardOutput, newSession: newSession)
        do {
            // Reaped by `waitForExit`, `reapExit` or `reapExitedChildren`, not by the dropped handle.
            return try SpawnedProcess.spawn(launch).pid
        } catch {
            throw UpError.spawnFailed(error)
        }
    }

    /// Waits for a child of this process to exit (polling `waitpid`, so no thread blocks); its exit
    /// status, 128+N for signal N, or nil when `timeout` passed first (the child is then killed).
    public static func waitForExit(pid: Int32, timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return ProcessTermination(waitStatus: status).shellStatus }
            if result < 0 { return nil }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return nil
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// How a child of this process that has exited ended (`exit status N`, `signal N (NAME)`), reaping
    /// it; nil when it is not this process's child or has not exited.
    public static func reapExit(pid: Int32) -> String? {
        var status: Int32 = 0
        guard pid > 0, waitpid(pid, &status, WNOHANG) == pid else { return nil }
        return ProcessTermination(waitStatus: status).description
    }

    /// Collects every child of this process that has exited (so none stays a zombie); returns their pids.
    @discardableResult
    public static func reapExitedChildren() -> [Int32] {
        var reaped: [Int32] = []
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            guard pid > 0 else { return reaped }
            reaped.append(pid)
        }
    }

    /// Linux: the process's start time in clock ticks since boot (/proc/PID/stat field 22); nil elsewhere.
    public static func startTime(pid: Int32) -> UInt64? {
        guard let fields = statFields(pid: pid), fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// The fields of /proc/PID/stat after the command name: state first.
    private static func statFields(pid: Int32) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }

    /// Whether `pid` is alive and (when `startTime` is given and readable) still the process that was started.
    public static func isRunning(pid: Int32, startTime: UInt64?) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        if let fields = statFields(pid: pid) {
            if fields.first == "Z" || fields.first == "X" { return false }
            if let startTime, fields.count > 19, UInt64(fields[19]) != startTime { return false }
        }
        return true
    }

    /// What stopping one recorded process came to.
    public enum StopOutcome: String, Sendable, Equatable {
        /// It exited after SIGTERM.
        case stopped
        /// It was still there after the grace period and got SIGKILL.
        case killed
        /// It was not running any more.
        case notRunning = "not running"
    }

    /// SIGTERM to each process still running, SIGKILL to those left after `grace`; returns what
    /// happened to each, in the order given.
    @discardableResult
    public static func stop(_ processes: [UpState.Started], grace: Duration) async -> [(process: UpState.Started, outcome: StopOutcome)] {
        let running = processes.filter { isRunning(pid: $0.pid, startTime: $0.startTime) }
        let killed = Set(await terminate(running, grace: grace))
        let wasRunning = Set(running.map(\.pid))
        return processes.map { process in
            (process, killed.contains(process.pid) ? .killed : (wasRunning.contains(process.pid) ? .stopped : .notRunning))
        }
    }

    /// SIGTERM, then SIGKILL to those left after `grace`; returns the pids that had to be killed.
    private static func terminate(_ running: [UpState.Started], grace: Duration) async -> [Int32] {
        for process in running { kill(process.pid, SIGTERM) }
        let clock = ContinuousClock()
        let deadline = clock.now + grace
        var left = running
        while !left.isEmpty, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(100))
            left = left.filter { isRunning(pid: $0.pid, startTime: $0.startTime) }
        }
        for process in left { kill(process.pid, SIGKILL) }
        let killDeadline = clock.now + .seconds(5)
        var stubborn = left
        while !stubborn.isEmpty, clock.now < killDeadline {
            try? await Task.sleep(for: .milliseconds(50))
            stubborn = stubborn.filter { isRunning(pid: $0.pid, startTime: $0.startTime) }
        }
        return left.map(\.pid)
    }
}
