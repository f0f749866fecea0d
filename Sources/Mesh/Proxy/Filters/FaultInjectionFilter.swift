import MeshModel

/// FSM Gateway's fault injection (FaultInjectionPolicy, F2-021): with `delay.percent` chance the
/// request waits a uniformly random time in [min, max] (the chain holds it on an engine timer),
/// then with `abort.percent` chance it is answered with the abort's status and message instead of
/// reaching the backend. Each chance is one draw from the engine's generator, made only when the
/// fault's percent is strictly between 0 and 100.
struct FaultInjectionFilter: HTTPFilterHooks {
    struct Delay: Hashable, Sendable {
        var percent: Int
        var min: MeshDuration
        var max: MeshDuration
    }

    struct Abort: Hashable, Sendable {
        var percent: Int
        var status: Int
        var message: String?
    }

    var delay: Delay?
    var abort: Abort?

    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome {
        if let delay, !request.faultDelayed, FaultInjectionFilter.happens(delay.percent, &random) {
            request.faultDelayed = true
            let spread = UInt64(Swift.max(0, delay.max.nanoseconds - delay.min.nanoseconds))
            let extra = spread == 0 ? 0 : Int64(random.next(upperBound: spread + 1))
            return .hold(MeshDuration(nanoseconds: delay.min.nanoseconds + extra))
        }
        if let abort, FaultInjectionFilter.happens(abort.percent, &random) {
            return .localReply(HTTPResponseHead(status: abort.status, body: abort.message), .faultAbort)
        }
        return .proceed
    }

    /// `percent` out of 100; 0 and 100 need no draw.
    static func happens(_ percent: Int, _ random: inout some RandomNumberGenerator) -> Bool {
        if percent <= 0 { return false }
        if percent >= 100 { return true }
        return random.next(upperBound: UInt64(100)) < UInt64(percent)
    }
}
