import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Processes started to outlive `fsm up`: own session (no terminal signals), stdin from /dev/null,
/// stdout and stderr appended to a log file.
public enum DetachedProcess {
    /// Starts `executable arguments`; returns its pid.
    public static func spawn(_ executable: String, _ arguments: [String], log: String, newSession: Bool = true) throws -> Int32 {
        #if os(Linux)
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        // glibc's POSIX_SPAWN_SETSID (0x80) sits behind _GNU_SOURCE, which Swift's Glibc module does not define.
        let sessionFlag: Int16 = 0x80
        #else
        var actions: posix_spawn_file_actions_t = nil
        var attributes: posix_spawnattr_t = nil
        let sessionFlag = Int16(POSIX_SPAWN_SETSID)
        #endif
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process goes with the child: without this a detached sidecar kept
        // every socket and file its parent had open (a test process's listeners, which then stayed
        // bound after the test closed them and after the parent died).
        try closeOtherDescriptors(&actions)
        // The caller may be a thread with signals blocked (Dispatch and NIO threads are): give the
        // child an empty mask and default handlers, so SIGTERM from `fsm down` reaches it.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signalNumber in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signalNumber) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        let flags = Int16(POSIX_SPAWN_SETSIGMASK) | Int16(POSIX_SPAWN_SETSIGDEF) | (newSession ? sessionFlag : 0)
        posix_spawnattr_setflags(&attributes, flags)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw UpError.spawnFailed(executable, result) }
        return pid
    }

    /// Adds "close every descriptor from 3 on" to `actions` (glibc's
    /// `posix_spawn_file_actions_addclosefrom_np`, 2.34 and later, looked up at run time because
    /// Swift's Glibc module hides it behind _GNU_SOURCE; Darwin closes on POSIX_CLOEXEC_DEFAULT).
    private static func closeOtherDescriptors(_ actions: inout posix_spawn_file_actions_t) throws {
        #if os(Linux)
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            throw UpError.spawnFailed("posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later)", ENOSYS)
        }
        let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
        let result = closeFrom(&actions, 3)
        guard result == 0 else { throw UpError.spawnFailed("posix_spawn_file_actions_addclosefrom_np", result) }
        #endif
    }

    /// Waits for a child of this process to exit (polling `waitpid`, so no thread blocks); its exit
    /// status, 128+N for signal N, or nil when `timeout` passed first (the child is then killed).
    public static func waitForExit(pid: Int32, timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let low = status & 0x7f
                return low == 0 ? (status >> 8) & 0xff : 128 + low
            }
            if result < 0 { return nil }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return nil
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// How a child of this process that has exited ended (`exit status N`, `signal N`), reaping
    /// it; nil when it is not this process's child or has not exited.
    public static func reapExit(pid: Int32) -> String? {
        var status: Int32 = 0
        guard pid > 0, waitpid(pid, &status, WNOHANG) == pid else { return nil }
        let signal = status & 0x7f
        return signal == 0 ? "exit status \((status >> 8) & 0xff)" : "signal \(signal)"
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
