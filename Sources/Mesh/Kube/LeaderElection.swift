import Foundation
import MeshModel

/// A `coordination.k8s.io/v1` Lease's leader-election fields, as client-go's resourcelock writes them.
public struct LeaderElectionRecord: Equatable, Sendable {
    public var holderIdentity: String
    public var leaseDurationSeconds: Int
    public var acquireTime: Date?
    public var renewTime: Date?
    public var leaseTransitions: Int

    public init(holderIdentity: String, leaseDurationSeconds: Int, acquireTime: Date?, renewTime: Date?, leaseTransitions: Int) {
        self.holderIdentity = holderIdentity
        self.leaseDurationSeconds = leaseDurationSeconds
        self.acquireTime = acquireTime
        self.renewTime = renewTime
        self.leaseTransitions = leaseTransitions
    }

    /// The record of a Lease object's `spec` (missing fields empty).
    public init(lease: JSONValue) {
        let spec = lease["spec"]
        holderIdentity = spec?["holderIdentity"]?.stringValue ?? ""
        leaseDurationSeconds = spec?["leaseDurationSeconds"].flatMap { if case .int(let n) = $0 { Int(n) } else { nil } } ?? 0
        acquireTime = spec?["acquireTime"]?.stringValue.flatMap(Self.parseMicroTime)
        renewTime = spec?["renewTime"]?.stringValue.flatMap(Self.parseMicroTime)
        leaseTransitions = spec?["leaseTransitions"].flatMap { if case .int(let n) = $0 { Int(n) } else { nil } } ?? 0
    }

    /// The Lease's `spec`.
    public var spec: JSONValue {
        var pairs: [(String, JSONValue)] = [("holderIdentity", .string(holderIdentity)), ("leaseDurationSeconds", .int(leaseDurationSeconds))]
        if let acquireTime { pairs.append(("acquireTime", .string(Self.formatMicroTime(acquireTime)))) }
        if let renewTime { pairs.append(("renewTime", .string(Self.formatMicroTime(renewTime)))) }
        pairs.append(("leaseTransitions", .int(leaseTransitions)))
        return .object(pairs)
    }

    /// `2006-01-02T15:04:05.000000Z` (Kubernetes MicroTime).
    public static func formatMicroTime(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let micros = Int(((date.timeIntervalSince1970 - seconds) * 1_000_000).rounded(.down))
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), micros)
    }

    public static func parseMicroTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}

/// Leader election on a Lease as client-go's `leaderelection` does it, as a value-typed state
/// machine: every `retryPeriod` the shell reads the Lease and asks `attempt`; the answer is to
/// create it, to update it (acquire or renew, guarded by its resourceVersion so that two candidates
/// cannot both win), or to stand by because another holder's lease has not expired. Expiry is
/// judged by the local clock since the record was last seen to change (not by the holder's
/// `renewTime`, so clock skew between nodes does not matter). A leader that cannot renew within
/// `renewDeadline` steps down before its lease can expire for the others.
public struct LeaderElection: Sendable {
    public let identity: String
    public var leaseDuration: Duration
    public var renewDeadline: Duration
    public var retryPeriod: Duration

    /// What to do with the Lease now.
    public enum Attempt: Equatable, Sendable {
        case create(LeaderElectionRecord)
        /// Replace the Lease's spec with this record, if its resourceVersion is still `resourceVersion`.
        case update(LeaderElectionRecord, resourceVersion: String)
        /// Someone else holds an unexpired lease.
        case standBy(holder: String)
    }

    /// A change of leadership to act on.
    public enum Transition: Equatable, Sendable {
        case startedLeading
        case stoppedLeading
    }

    public private(set) var isLeader = false
    private var observed: LeaderElectionRecord?
    private var observedAt: Duration?
    private var lastRenewed: Duration?
    private var pending: LeaderElectionRecord?

    public init(identity: String, leaseDuration: Duration = .seconds(15), renewDeadline: Duration = .seconds(10), retryPeriod: Duration = .seconds(2)) {
        self.identity = identity
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
    }

    /// Decides one try. `lease` is the current Lease object (nil: none exists); `now` a monotonic
    /// reading, `wallClock` the time written into the record.
    public mutating func attempt(lease: JSONValue?, now: Duration, wallClock: Date) -> Attempt {
        let seconds = Int(leaseDuration.components.seconds)
        guard let lease else {
            let record = LeaderElectionRecord(holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: wallClock, renewTime: wallClock, leaseTransitions: 0)
            pending = record
            return .create(record)
        }
        let current = LeaderElectionRecord(lease: lease)
        if current != observed {
            observed = current
            observedAt = now
        }
        let holderLease = Duration.seconds(max(current.leaseDurationSeconds, 1))
        if !current.holderIdentity.isEmpty, current.holderIdentity != identity, let observedAt, now < observedAt + holderLease {
            return .standBy(holder: current.holderIdentity)
        }
        var record = LeaderElectionRecord(holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: wallClock, renewTime: wallClock,
                                          leaseTransitions: current.leaseTransitions)
        if current.holderIdentity == identity {
            record.acquireTime = current.acquireTime ?? wallClock
        } else {
            record.leaseTransitions = current.leaseTransitions + 1
        }
        pending = record
        return .update(record, resourceVersion: KubeObject(json: lease).resourceVersion)
    }

    /// The create or update went through: this candidate holds the lease until `now + leaseDuration`.
    public mutating func succeeded(now: Duration) -> Transition? {
        if let pending {
            observed = pending
            observedAt = now
        }
        pending = nil
        lastRenewed = now
        guard !isLeader else { return nil }
        isLeader = true
        return .startedLeading
    }

    /// The try failed (a conflict, another holder, an unreachable API server). A leader that has
    /// not renewed for `renewDeadline` steps down.
    public mutating func failed(now: Duration) -> Transition? {
        pending = nil
        guard isLeader, let lastRenewed, now >= lastRenewed + renewDeadline else { return nil }
        isLeader = false
        return .stoppedLeading
    }

    /// Another holder was seen: a leader that is not the holder any more steps down at once.
    public mutating func sawOtherHolder() -> Transition? {
        guard isLeader else { return nil }
        isLeader = false
        return .stoppedLeading
    }

    /// The record that gives the lease up (client-go's ReleaseOnCancel): no holder, one second left.
    public func releaseRecord(wallClock: Date) -> LeaderElectionRecord? {
        guard isLeader, let observed else { return nil }
        return LeaderElectionRecord(holderIdentity: "", leaseDurationSeconds: 1, acquireTime: observed.acquireTime, renewTime: wallClock,
                                    leaseTransitions: observed.leaseTransitions)
    }

    /// Stops leading without touching the Lease (the shell is stopping).
    public mutating func resign() -> Transition? {
        guard isLeader else { return nil }
        isLeader = false
        return .stoppedLeading
    }
}
