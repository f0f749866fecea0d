import MeshModel

/// The kubelet's readiness probe, as a value: the outcome of each probe goes in, a change of the
/// container's readiness comes out. `failureThreshold` failures in a row make a ready container
/// not ready; `successThreshold` successes in a row make it ready again. The shell runs the probe
/// every `period` (the simulator in virtual time, `fsm supervise` and real mode on the wall clock)
/// and reports a change as the pod's `Ready` condition, which the controller turns into endpoints.
///
/// A container starts ready: nothing probes a pod that a manifest declares before its sidecar
/// runs, and a pod without a `Ready` condition counts as ready (`Pod.isReady`).
public struct ReadinessProbe: Hashable, Sendable {
    public struct Settings: Hashable, Sendable {
        public var period: MeshDuration
        public var failureThreshold: Int
        public var successThreshold: Int

        public init(period: MeshDuration = .seconds(10), failureThreshold: Int = 3, successThreshold: Int = 1) {
            self.period = period
            self.failureThreshold = failureThreshold
            self.successThreshold = successThreshold
        }

        /// The kubelet's defaults: every 10 s, not ready after 3 failures, ready after 1 success.
        public static let kubelet = Settings()
    }

    public let settings: Settings
    public private(set) var isReady: Bool
    /// Failures (while ready) or successes (while not ready) in a row.
    public private(set) var streak = 0

    public init(settings: Settings = .kubelet, ready: Bool = true) {
        self.settings = settings
        self.isReady = ready
    }

    /// One probe's outcome; returns the new readiness when this probe changed it.
    public mutating func record(success: Bool) -> Bool? {
        guard success != isReady else {
            streak = 0
            return nil
        }
        streak += 1
        let threshold = isReady ? settings.failureThreshold : settings.successThreshold
        guard streak >= max(1, threshold) else { return nil }
        isReady = success
        streak = 0
        return success
    }

    /// Whether further probes can change anything: the container is not ready, or failures are
    /// counting towards the threshold. A ready container with no failure pending need not be
    /// probed until something happens to it (the simulator skips those ticks).
    public var isSettled: Bool { isReady && streak == 0 }

    /// The first probe tick strictly after `time` for a container whose probes run at
    /// `epoch + k·period` (k ≥ 1).
    public func nextTick(after time: MeshDuration, epoch: MeshDuration) -> MeshDuration {
        let period = max(1, settings.period.nanoseconds)
        let elapsed = max(0, time.nanoseconds - epoch.nanoseconds)
        return MeshDuration(nanoseconds: epoch.nanoseconds + (elapsed / period + 1) * period)
    }
}
