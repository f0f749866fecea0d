import MeshControl
import MeshModel

/// What `fsm supervise` decides, apart from processes and sockets: the kubelet's role for the
/// processes `fsm up` started. Each member (the controller, a pod's sidecar, a pod's app) is
/// restarted with `CrashLoopBackoff` when it exits; the probed ones (sidecars and apps) feed a
/// `ReadinessProbe`; a pod is ready while every probed member of it is, and the controller is told
/// each change (`PUT /v1/pods/<ns>/<pod>/status`) until it has taken it. A controller that
/// (re)starts knows no status (every pod counts as ready), so what it must hear is sent again.
///
/// Members with a liveness probe are restarted when it fails `failureThreshold` times in a row;
/// members with a startup probe are not liveness-probed until it first succeeds, and are
/// restarted when it fails `failureThreshold` times in a row before that (the kubelet's rules).
///
/// Time is the caller's: a `MeshDuration` since the supervisor started.
public struct Supervision: Sendable {
    public struct Member: Sendable {
        public enum Kind: Sendable, Equatable { case controller, sidecar, app }
        public var kind: Kind
        /// `namespace/name`; nil for the controller.
        public var pod: String?
        /// Has a readiness probe.
        public var probed: Bool
        public var livenessProbed: Bool
        public var startupProbed: Bool
        /// The startup probe succeeded since the last start (always, without a startup probe).
        public fileprivate(set) var hasStarted: Bool
        public fileprivate(set) var running = true
        public fileprivate(set) var restartAt: MeshDuration?
        fileprivate var startedAt: MeshDuration
        fileprivate var backoff: CrashLoopBackoff
        fileprivate var probe: ReadinessProbe
        /// Liveness as a probe that starts "ready" (alive) and turns false after the failures.
        fileprivate var liveness: ReadinessProbe
        fileprivate var startupFailures = 0

        public init(kind: Kind, pod: String?, probed: Bool, livenessProbed: Bool = false, startupProbed: Bool = false) {
            self.kind = kind
            self.pod = pod
            self.probed = probed
            self.livenessProbed = livenessProbed
            self.startupProbed = startupProbed
            hasStarted = !startupProbed
            startedAt = .zero
            backoff = CrashLoopBackoff()
            probe = ReadinessProbe()
            liveness = ReadinessProbe()
        }

        public var restarts: Int { backoff.restarts }
        public var isReady: Bool { probe.isReady }
    }

    public private(set) var members: [Member]
    /// What the controller holds for each pod (a fresh controller: ready).
    private var told: [String: Bool] = [:]

    public init(members: [Member], probe: ReadinessProbe.Settings, backoff: CrashLoopBackoff.Settings, now: MeshDuration) {
        self.members = members.map { member in
            var member = member
            member.startedAt = now
            member.backoff = CrashLoopBackoff(settings: backoff)
            member.probe = ReadinessProbe(settings: probe)
            member.liveness = ReadinessProbe(settings: probe)
            return member
        }
        for pod in pods { told[pod] = true }
    }

    /// Every pod with a member, sorted.
    public var pods: [String] { Set(members.compactMap(\.pod)).sorted() }

    /// Whether every probed member of the pod is ready.
    public func isReady(pod: String) -> Bool {
        members.allSatisfy { $0.pod != pod || !$0.probed || $0.probe.isReady }
    }

    /// The member's process is gone; returns how long until it is started again.
    public mutating func exited(_ index: Int, at now: MeshDuration) -> MeshDuration {
        guard members[index].running else { return (members[index].restartAt ?? now) - now }
        let delay = members[index].backoff.exited(at: now, startedAt: members[index].startedAt)
        members[index].running = false
        members[index].restartAt = now + delay
        return delay
    }

    /// Members whose restart is due at `now`, in order.
    public func due(at now: MeshDuration) -> [Int] {
        members.indices.filter { !members[$0].running && (members[$0].restartAt.map { $0 <= now } ?? false) }
    }

    /// The member runs again (started at `now`): its liveness and startup start afresh. A
    /// restarted controller knows no pod status.
    public mutating func started(_ index: Int, at now: MeshDuration) {
        members[index].running = true
        members[index].restartAt = nil
        members[index].startedAt = now
        members[index].liveness = ReadinessProbe(settings: members[index].liveness.settings)
        members[index].hasStarted = !members[index].startupProbed
        members[index].startupFailures = 0
        if members[index].kind == .controller { for pod in pods { told[pod] = true } }
    }

    /// One probe of a member; returns the pod whose readiness this changed, with the new value.
    public mutating func probed(_ index: Int, success: Bool) -> (pod: String, ready: Bool)? {
        guard members[index].probed, let pod = members[index].pod else { return nil }
        let before = isReady(pod: pod)
        _ = members[index].probe.record(success: success)
        let after = isReady(pod: pod)
        return before == after ? nil : (pod, after)
    }

    /// What one probe of a member came to.
    public enum ProbeOutcome: Equatable, Sendable {
        case none
        /// The pod's readiness changed.
        case readiness(pod: String, ready: Bool)
        /// Its liveness or startup probe failed too often: stop the process (its exit restarts it after the backoff).
        case restart
    }

    /// The probes to run against a member now: its startup probe until that succeeds, then its
    /// liveness and readiness probes. A member that is not running is still readiness-probed (a
    /// container that is not running is not ready: the failures take its pod out of the endpoints).
    public func probesDue(_ index: Int) -> [ContainerProbe.Kind] {
        let member = members[index]
        guard member.running else { return member.probed ? [.readiness] : [] }
        guard member.hasStarted else { return [.startup] }
        return (member.livenessProbed ? [.liveness] : []) + (member.probed ? [.readiness] : [])
    }

    /// One probe of a member, of the given kind.
    public mutating func probed(_ index: Int, _ kind: ContainerProbe.Kind, success: Bool) -> ProbeOutcome {
        switch kind {
        case .readiness:
            return probed(index, success: success).map { .readiness(pod: $0.pod, ready: $0.ready) } ?? .none
        case .liveness:
            guard members[index].livenessProbed, members[index].liveness.record(success: success) == false else { return .none }
            members[index].liveness = ReadinessProbe(settings: members[index].liveness.settings)
            return .restart
        case .startup:
            guard members[index].startupProbed, !members[index].hasStarted else { return .none }
            if success {
                members[index].hasStarted = true
                members[index].startupFailures = 0
                return .none
            }
            members[index].startupFailures += 1
            guard members[index].startupFailures >= max(1, members[index].liveness.settings.failureThreshold) else { return .none }
            members[index].startupFailures = 0
            return .restart
        }
    }

    /// Reports the controller still needs: pods whose readiness differs from what it holds.
    public var pendingReports: [(pod: String, ready: Bool)] {
        pods.compactMap { pod in
            let ready = isReady(pod: pod)
            return told[pod] == ready ? nil : (pod, ready)
        }
    }

    /// The controller took a report.
    public mutating func reported(pod: String, ready: Bool) {
        told[pod] = ready
    }
}
