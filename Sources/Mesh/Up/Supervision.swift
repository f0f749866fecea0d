import MeshControl
import MeshModel

/// What `fsm supervise` decides, apart from processes and sockets: the kubelet's role for the
/// processes `fsm up` started. Each member (the controller, a pod's sidecar, a pod's app) is
/// restarted with `CrashLoopBackoff` when it exits; the probed ones (sidecars and apps) feed a
/// `ReadinessProbe`; a pod is ready while every probed member of it is, and the controller is told
/// each change (`PUT /v1/pods/<ns>/<pod>/status`) until it has taken it. A controller that
/// (re)starts knows no status (every pod counts as ready), so what it must hear is sent again.
///
/// Time is the caller's: a `MeshDuration` since the supervisor started.
public struct Supervision: Sendable {
    public struct Member: Sendable {
        public enum Kind: Sendable, Equatable { case controller, sidecar, app }
        public var kind: Kind
        /// `namespace/name`; nil for the controller.
        public var pod: String?
        public var probed: Bool
        public fileprivate(set) var running = true
        public fileprivate(set) var restartAt: MeshDuration?
        fileprivate var startedAt: MeshDuration
        fileprivate var backoff: CrashLoopBackoff
        fileprivate var probe: ReadinessProbe

        public init(kind: Kind, pod: String?, probed: Bool) {
            self.kind = kind
            self.pod = pod
            self.probed = probed
            startedAt = .zero
            backoff = CrashLoopBackoff()
            probe = ReadinessProbe()
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

    /// The member runs again (started at `now`). A restarted controller knows no pod status.
    public mutating func started(_ index: Int, at now: MeshDuration) {
        members[index].running = true
        members[index].restartAt = nil
        members[index].startedAt = now
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
