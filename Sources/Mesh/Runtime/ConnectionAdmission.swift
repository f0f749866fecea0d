/// Which accepted connections a listener keeps, as a value-typed state machine: a connection is
/// admitted while its listener holds fewer than its limit, otherwise refused (the shell closes it
/// at once and counts `runtime.<listener>.downstream_cx_overflow`). Listeners never take each
/// other's room, so connections piling up on the admin port leave the data path its own.
struct ConnectionAdmission {
    enum Decision: Equatable {
        case admit
        case refuse
    }

    let limits: ConnectionLimits
    private var active = [Int](repeating: 0, count: ListenerKind.allCases.count)

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    /// The connections `listener` holds now.
    func active(_ listener: ListenerKind) -> Int { active[listener.rawValue] }

    /// A connection was accepted on `listener`.
    mutating func opened(_ listener: ListenerKind) -> Decision {
        guard active[listener.rawValue] < limits[listener] else { return .refuse }
        active[listener.rawValue] += 1
        return .admit
    }

    /// An admitted connection closed.
    mutating func closed(_ listener: ListenerKind) {
        active[listener.rawValue] = max(0, active[listener.rawValue] - 1)
    }
}
