import Glibc
import Synchronization

/// A child process started with posix_spawn (not Foundation's `Process`, whose start can crash
/// on Linux in this toolchain: DECISIONS 263), with this process's ends of its pipes. It is
/// reaped by `wait`, `exit(within:)`, `terminate(grace:)` or a look at `isRunning` that finds it
/// gone; dropping it closes the pipes and leaves the child alone (it is not killed).
public final class SpawnedProcess: Sendable {
    public let pid: pid_t
    /// The executable, for messages.
    public let executable: String
    /// This process's ends of the pipes asked for (`.pipe`); nil for the other streams.
    public let standardInput: PipeEnd?
    public let standardOutput: PipeEnd?
    public let standardError: PipeEnd?
    private let ended = Mutex<ProcessTermination?>(nil)

    init(pid: pid_t, executable: String, standardInput: PipeEnd?, standardOutput: PipeEnd?, standardError: PipeEnd?) {
        self.pid = pid
        self.executable = executable
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
    }

    /// Starts `launch`; throws when it cannot start (a missing executable, a log file that cannot
    /// be opened), with the executable and the reason in one line.
    public static func spawn(_ launch: ProcessLaunch) throws(SpawnFailure) -> SpawnedProcess {
        try ProcessSpawner.spawn(launch)
    }

    /// How it ended, reaping it when it just did; nil while it runs. Never waits.
    public var termination: ProcessTermination? { reap(blocking: false) }

    public var isRunning: Bool { termination == nil }

    /// Waits (blocking this thread) until it ends.
    @discardableResult
    public func wait() -> ProcessTermination {
        reap(blocking: true) ?? .unknown
    }

    /// Waits up to `timeout` for it to end, without blocking a thread; nil when it still runs.
    public func exit(within timeout: Duration) async -> ProcessTermination? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let termination { return termination }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Sends `signal` unless it was already reaped (its pid may be another process's by then).
    public func send(_ signal: Int32) {
        ended.withLock { termination in
            if termination == nil { _ = kill(pid, signal) }
        }
    }

    /// SIGTERM, SIGKILL when it is still there after `grace`; waits for it (blocking this thread).
    @discardableResult
    public func terminate(grace: Duration = .seconds(2)) -> ProcessTermination {
        var schedule = StopSchedule(deadline: nil, grace: grace)
        let start = ContinuousClock.now
        var action = schedule.stopNow(at: .zero)
        while termination == nil {
            perform(action)
            if action == .kill { break }
            usleep(10_000)
            action = schedule.tick(at: ContinuousClock.now - start)
        }
        return wait()
    }

    /// `terminate(grace:)` without blocking a thread.
    @discardableResult
    public func stop(grace: Duration = .seconds(2)) async -> ProcessTermination {
        var schedule = StopSchedule(deadline: nil, grace: grace)
        let start = ContinuousClock.now
        var action = schedule.stopNow(at: .zero)
        while termination == nil {
            perform(action)
            if action == .kill { return await exit(within: .seconds(30)) ?? wait() }
            try? await Task.sleep(for: .milliseconds(10))
            action = schedule.tick(at: ContinuousClock.now - start)
        }
        return wait()
    }

    /// Carries out a schedule's signal.
    func perform(_ action: StopSchedule.Action) {
        switch action {
        case .terminate: send(SIGTERM)
        case .kill: send(SIGKILL)
        case .wait, .abandon: break
        }
    }

    /// Reaps it if it ended (or, `blocking`, once it ends); the termination is kept for later looks.
    private func reap(blocking: Bool) -> ProcessTermination? {
        if blocking, ended.withLock({ $0 }) == nil { Self.waitWithoutReaping(pid) }
        return ended.withLock { termination in
            if let termination { return termination }
            var status: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &status, WNOHANG) } while result < 0 && errno == EINTR
            if result == pid {
                termination = ProcessTermination(waitStatus: status)
            } else if result < 0 {
                termination = .unknown
            }
            return termination
        }
    }

    /// Blocks until `pid` has ended, leaving it to be reaped (`WNOWAIT`), so that the reap itself
    /// happens under the lock and two waiters never race for the status.
    private static func waitWithoutReaping(_ pid: pid_t) {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
    }
}
