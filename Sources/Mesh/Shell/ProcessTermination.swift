/// How a child process ended.
public enum ProcessTermination: Sendable, Hashable, CustomStringConvertible {
    /// It exited with this status (0–255).
    case exited(Int32)
    /// A signal ended it (SIGKILL: 9).
    case signalled(Int32)
    /// It ended, but how is not known: another waiter in this process reaped it first (a
    /// `waitpid(-1)` loop such as `DetachedProcess.reapExitedChildren`).
    case unknown

    /// Decodes a `waitpid` status of a child that ended (`WIFEXITED`, `WIFSIGNALED`).
    public init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    public var succeeded: Bool { self == .exited(0) }

    /// The status as a shell reports it: the exit status, 128 + N for signal N, 255 when unknown.
    public var shellStatus: Int32 {
        switch self {
        case .exited(let status): status
        case .signalled(let signal): 128 + signal
        case .unknown: 255
        }
    }

    /// `exit status 3`, `signal 9 (SIGKILL)`, `unknown exit (reaped elsewhere)`.
    public var description: String {
        switch self {
        case .exited(let status): "exit status \(status)"
        case .signalled(let signal): Self.signalNames[signal].map { "signal \(signal) (\($0))" } ?? "signal \(signal)"
        case .unknown: "unknown exit (reaped elsewhere)"
        }
    }

    /// Linux's numbers of the signals a child is usually ended by.
    static let signalNames: [Int32: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
        9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
    ]
}
