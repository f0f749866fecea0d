/// When a child process is told to stop, made to, and given up on, as a small state machine:
/// times are offsets from the child's start (the caller reads its own clock). Past `deadline` it
/// gets SIGTERM; `grace` later, still there, SIGKILL; `drain` after SIGKILL (or after it exited),
/// its pipes are abandoned even if something (a grandchild that kept them) still holds them open.
public struct StopSchedule: Sendable, Equatable {
    /// What to do now.
    public enum Action: Sendable, Equatable {
        /// Nothing until `until` (nil: until something else happens, such as output or the exit).
        case wait(until: Duration?)
        /// Send SIGTERM.
        case terminate
        /// Send SIGKILL.
        case kill
        /// Stop reading its pipes; what came is all there is.
        case abandon
    }

    public enum Stage: Sendable, Equatable {
        case running
        case terminating(since: Duration)
        case killing(since: Duration)
        case exited(at: Duration)
        case abandoned
    }

    /// nil: no deadline (it runs until it exits).
    public let deadline: Duration?
    public let grace: Duration
    public let drain: Duration
    public private(set) var stage = Stage.running
    /// Whether it was told to stop (its deadline passed, or `stopNow`) before it exited.
    public private(set) var stopRequested = false

    public init(deadline: Duration?, grace: Duration = .seconds(2), drain: Duration = .seconds(2)) {
        self.deadline = deadline
        self.grace = grace
        self.drain = drain
    }

    /// Starts the stop at `now` whatever the deadline (a caller stopping it itself).
    public mutating func stopNow(at now: Duration) -> Action {
        guard stage == .running else { return tick(at: now) }
        return terminate(at: now)
    }

    /// The child ended (it was reaped) at `now`.
    public mutating func exited(at now: Duration) {
        switch stage {
        case .exited, .abandoned: break
        default: stage = .exited(at: now)
        }
    }


    /// The action due at `now`.
    public mutating func tick(at now: Duration) -> Action {
        switch stage {
        case .running:
            guard let deadline else { return .wait(until: nil) }
            guard now >= deadline else { return .wait(until: deadline) }
            return terminate(at: now)
        case .terminating(let since):
            guard now >= since + grace else { return .wait(until: since + grace) }
            stage = .killing(since: now)
            return .kill
        case .killing(let since), .exited(at: let since):
            guard now >= since + drain else { return .wait(until: since + drain) }
            stage = .abandoned
            return .abandon
        case .abandoned:
            return .abandon
        }
    }

    private mutating func terminate(at now: Duration) -> Action {
        stage = .terminating(since: now)
        stopRequested = true
        return .terminate
    }
}
