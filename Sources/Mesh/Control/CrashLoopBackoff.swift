import MeshModel

/// The kubelet's CrashLoopBackOff for a container with `restartPolicy: Always`, as a value: each
/// exit goes in, the delay before the restart comes out. The first restart waits `base` (10 s),
/// each following one twice the previous, never more than `cap` (5 min); a container that ran
/// `resetAfter` (10 min, twice the cap, as the kubelet's backoff entries expire) before it exited
/// starts again from `base`. Time is the caller's (`fsm supervise`: since its own start).
public struct CrashLoopBackoff: Hashable, Sendable {
    public struct Settings: Hashable, Sendable {
        public var base: MeshDuration
        public var cap: MeshDuration
        public var resetAfter: MeshDuration

        public init(base: MeshDuration = .seconds(10), cap: MeshDuration = .minutes(5), resetAfter: MeshDuration? = nil) {
            self.base = base
            self.cap = max(base, cap)
            self.resetAfter = resetAfter ?? self.cap * 2
        }

        public static let kubelet = Settings()
    }

    public let settings: Settings
    /// The delay given for the last restart; nil before the first.
    public private(set) var lastDelay: MeshDuration?
    /// Restarts so far (the kubelet's `restartCount`).
    public private(set) var restarts = 0

    public init(settings: Settings = .kubelet) {
        self.settings = settings
    }

    /// The container that started at `startedAt` exited at `now`: how long to wait before starting it again.
    public mutating func exited(at now: MeshDuration, startedAt: MeshDuration) -> MeshDuration {
        let ranLong = now - startedAt >= settings.resetAfter
        let delay: MeshDuration
        if let lastDelay, !ranLong {
            let doubled = lastDelay.nanoseconds.multipliedReportingOverflow(by: 2)
            delay = doubled.overflow ? settings.cap : min(MeshDuration(nanoseconds: doubled.partialValue), settings.cap)
        } else {
            delay = settings.base
        }
        lastDelay = delay
        restarts += 1
        return delay
    }
}
