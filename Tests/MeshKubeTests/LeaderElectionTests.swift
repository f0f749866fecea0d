import Foundation
import MeshKube
import MeshModel
import Testing

/// client-go's leader-election rules on a Lease, without a cluster.
@Suite struct LeaderElectionTests {
    static let wall = Date(timeIntervalSince1970: 1_767_225_600)

    static func lease(_ record: LeaderElectionRecord, version: String = "7") -> JSONValue {
        .object([("apiVersion", .string("coordination.k8s.io/v1")), ("kind", .string("Lease")),
                 ("metadata", .object([("name", .string("fsm-controller-leader")), ("namespace", .string("fsm-system")), ("resourceVersion", .string(version))])),
                 ("spec", record.spec)])
    }

    static func held(by holder: String, transitions: Int = 0) -> LeaderElectionRecord {
        LeaderElectionRecord(holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: wall, renewTime: wall, leaseTransitions: transitions)
    }

    @Test func withoutALeaseTheCandidateCreatesOneAndLeads() {
        var election = LeaderElection(identity: "a")
        guard case .create(let record) = election.attempt(lease: nil, now: .zero, wallClock: Self.wall) else { Issue.record("expected create"); return }
        #expect(record.holderIdentity == "a")
        #expect(record.leaseDurationSeconds == 15)
        #expect(record.leaseTransitions == 0)
        #expect(election.succeeded(now: .zero) == .startedLeading)
        #expect(election.isLeader)
    }

    @Test func anotherHoldersLeaseIsRespectedUntilItExpiresByTheLocalClock() {
        var election = LeaderElection(identity: "b")
        let lease = Self.lease(Self.held(by: "a", transitions: 2))
        #expect(election.attempt(lease: lease, now: .seconds(100), wallClock: Self.wall) == .standBy(holder: "a"))
        // Unchanged record: expiry counts from when it was first seen, whatever its renewTime says.
        #expect(election.attempt(lease: lease, now: .seconds(114), wallClock: Self.wall) == .standBy(holder: "a"))
        guard case .update(let record, let version) = election.attempt(lease: lease, now: .seconds(115), wallClock: Self.wall.addingTimeInterval(15)) else {
            Issue.record("expected a takeover"); return
        }
        #expect(version == "7")
        #expect(record.holderIdentity == "b")
        #expect(record.leaseTransitions == 3)
        #expect(record.acquireTime == Self.wall.addingTimeInterval(15))
    }

    @Test func aRenewedRecordRestartsTheExpiry() {
        var election = LeaderElection(identity: "b")
        _ = election.attempt(lease: Self.lease(Self.held(by: "a")), now: .seconds(0), wallClock: Self.wall)
        var renewed = Self.held(by: "a")
        renewed.renewTime = Self.wall.addingTimeInterval(10)
        #expect(election.attempt(lease: Self.lease(renewed, version: "8"), now: .seconds(10), wallClock: Self.wall) == .standBy(holder: "a"))
        #expect(election.attempt(lease: Self.lease(renewed, version: "8"), now: .seconds(20), wallClock: Self.wall) == .standBy(holder: "a"))
        guard case .update = election.attempt(lease: Self.lease(renewed, version: "8"), now: .seconds(25), wallClock: Self.wall) else {
            Issue.record("expected a takeover 15 s after the last change"); return
        }
    }

    @Test func theHolderRenewsKeepingItsAcquireTimeAndTransitions() {
        var election = LeaderElection(identity: "a")
        let lease = Self.lease(Self.held(by: "a", transitions: 4))
        guard case .update(let record, _) = election.attempt(lease: lease, now: .seconds(3), wallClock: Self.wall.addingTimeInterval(3)) else {
            Issue.record("expected a renewal"); return
        }
        #expect(record.acquireTime == Self.wall)
        #expect(record.renewTime == Self.wall.addingTimeInterval(3))
        #expect(record.leaseTransitions == 4)
    }

    @Test func aReleasedLeaseIsTakenAtOnce() {
        var election = LeaderElection(identity: "b")
        let released = LeaderElectionRecord(holderIdentity: "", leaseDurationSeconds: 1, acquireTime: Self.wall, renewTime: Self.wall, leaseTransitions: 1)
        guard case .update(let record, _) = election.attempt(lease: Self.lease(released), now: .seconds(0), wallClock: Self.wall) else {
            Issue.record("expected a takeover of a released lease"); return
        }
        #expect(record.leaseTransitions == 2)
    }

    @Test func aLeaderThatCannotRenewStepsDownAfterTheRenewDeadline() {
        var election = LeaderElection(identity: "a", leaseDuration: .seconds(15), renewDeadline: .seconds(10), retryPeriod: .seconds(2))
        _ = election.attempt(lease: nil, now: .zero, wallClock: Self.wall)
        #expect(election.succeeded(now: .zero) == .startedLeading)
        #expect(election.failed(now: .seconds(5)) == nil)
        #expect(election.isLeader)
        #expect(election.failed(now: .seconds(10)) == .stoppedLeading)
        #expect(!election.isLeader)
        #expect(election.failed(now: .seconds(12)) == nil)
    }

    @Test func aLeaderThatSeesAnotherHolderStepsDown() {
        var election = LeaderElection(identity: "a")
        _ = election.attempt(lease: nil, now: .zero, wallClock: Self.wall)
        _ = election.succeeded(now: .zero)
        #expect(election.attempt(lease: Self.lease(Self.held(by: "b")), now: .seconds(4), wallClock: Self.wall) == .standBy(holder: "b"))
        #expect(election.sawOtherHolder() == .stoppedLeading)
    }

    @Test func releaseGivesTheLeaseUpForOneSecond() {
        var election = LeaderElection(identity: "a")
        #expect(election.releaseRecord(wallClock: Self.wall) == nil, "only a leader releases")
        _ = election.attempt(lease: nil, now: .zero, wallClock: Self.wall)
        _ = election.succeeded(now: .zero)
        let record = election.releaseRecord(wallClock: Self.wall.addingTimeInterval(30))
        #expect(record?.holderIdentity == "")
        #expect(record?.leaseDurationSeconds == 1)
        #expect(record?.acquireTime == Self.wall)
    }

    @Test func microTimeRoundTripsAsKubernetesWritesIt() {
        let date = Date(timeIntervalSince1970: 1_767_225_600.123456)
        let text = LeaderElectionRecord.formatMicroTime(date)
        #expect(text == "2026-01-01T00:00:00.123456Z")
        let parsed = LeaderElectionRecord.parseMicroTime(text)
        #expect(parsed.map { abs($0.timeIntervalSince(date)) < 0.001 } == true)
        #expect(LeaderElectionRecord.parseMicroTime("2026-01-01T00:00:00Z") == Date(timeIntervalSince1970: 1_767_225_600))
    }
}
