import MeshControl
import MeshModel
import MeshUp
import Testing

/// `fsm supervise`'s decisions without processes: restarts with CrashLoopBackOff, pod readiness
/// from the probes of its sidecar and app, and what the controller must be told.
@Suite struct SupervisionTests {
    static let probe = ReadinessProbe.Settings(period: .milliseconds(100), failureThreshold: 2, successThreshold: 1)
    static let backoff = CrashLoopBackoff.Settings(base: .seconds(1), cap: .seconds(8))

    static func make() -> Supervision {
        Supervision(members: [
            Supervision.Member(kind: .controller, pod: nil, probed: false),
            Supervision.Member(kind: .sidecar, pod: "shop/store-0", probed: true),
            Supervision.Member(kind: .sidecar, pod: "shop/store-1", probed: true),
            Supervision.Member(kind: .app, pod: "shop/store-0", probed: true),
        ], probe: probe, backoff: backoff, now: .zero)
    }

    @Test func anExitedProcessIsRestartedAfterTheBackoffDoublingEachTime() {
        var supervision = Self.make()
        #expect(supervision.exited(1, at: .seconds(2)) == .seconds(1))
        #expect(supervision.due(at: .milliseconds(2999)).isEmpty)
        #expect(supervision.due(at: .seconds(3)) == [1])
        // Seen again before the restart: nothing new.
        #expect(supervision.exited(1, at: .milliseconds(2500)) == .milliseconds(500))
        supervision.started(1, at: .seconds(3))
        #expect(supervision.due(at: .seconds(100)).isEmpty)
        #expect(supervision.exited(1, at: .seconds(4)) == .seconds(2))
        #expect(supervision.members[1].restarts == 2)
    }

    @Test func aPodIsReadyWhileItsSidecarAndAppAreAndTheControllerHearsEachChange() {
        var supervision = Self.make()
        #expect(supervision.pendingReports.isEmpty)
        // store-0's sidecar fails twice: the pod is not ready.
        #expect(supervision.probed(1, success: false) == nil)
        let change = supervision.probed(1, success: false)
        #expect(change?.pod == "shop/store-0" && change?.ready == false)
        #expect(supervision.pendingReports.map(\.pod) == ["shop/store-0"])
        supervision.reported(pod: "shop/store-0", ready: false)
        #expect(supervision.pendingReports.isEmpty)
        // Its app failing too changes nothing more; the sidecar coming back is not enough.
        _ = supervision.probed(3, success: false)
        #expect(supervision.probed(3, success: false) == nil)
        #expect(supervision.probed(1, success: true) == nil)
        #expect(!supervision.isReady(pod: "shop/store-0"))
        let back = supervision.probed(3, success: true)
        #expect(back?.pod == "shop/store-0" && back?.ready == true)
        #expect(supervision.isReady(pod: "shop/store-1"))
        #expect(supervision.pendingReports.map(\.ready) == [true])
    }

    @Test func aRestartedControllerIsToldAgain() {
        var supervision = Self.make()
        _ = supervision.probed(2, success: false)
        _ = supervision.probed(2, success: false)
        supervision.reported(pod: "shop/store-1", ready: false)
        #expect(supervision.pendingReports.isEmpty)
        _ = supervision.exited(0, at: .seconds(1))
        supervision.started(0, at: .seconds(2))
        #expect(supervision.pendingReports.map(\.pod) == ["shop/store-1"])
        #expect(supervision.pendingReports.map(\.ready) == [false])
    }

    /// A container with the kubelet's three probes (`fsm up --pods netns`): only the startup probe
    /// until it succeeds; failing it `failureThreshold` times restarts; then liveness and
    /// readiness, and failed liveness restarts too. A process that is not running is still
    /// readiness-probed (and so not ready), never liveness-probed.
    @Test func startupThenLivenessAndReadinessAsTheKubeletRunsThem() {
        var supervision = Supervision(members: [
            Supervision.Member(kind: .app, pod: "shop/store-0", probed: true, livenessProbed: true, startupProbed: true),
        ], probe: Self.probe, backoff: Self.backoff, now: .zero)
        #expect(supervision.probesDue(0) == [.startup])
        #expect(supervision.probed(0, .startup, success: false) == .none)
        #expect(supervision.probed(0, .startup, success: false) == .restart)
        _ = supervision.exited(0, at: .seconds(1))
        #expect(supervision.probesDue(0) == [.readiness])
        supervision.started(0, at: .seconds(2))
        #expect(supervision.probesDue(0) == [.startup])
        #expect(supervision.probed(0, .startup, success: true) == .none)
        #expect(supervision.probesDue(0) == [.liveness, .readiness])
        #expect(supervision.probed(0, .readiness, success: false) == .none)
        #expect(supervision.probed(0, .readiness, success: false) == .readiness(pod: "shop/store-0", ready: false))
        #expect(supervision.probed(0, .liveness, success: false) == .none)
        #expect(supervision.probed(0, .liveness, success: false) == .restart)
        // After a restart the startup probe gates the others again.
        _ = supervision.exited(0, at: .seconds(3))
        supervision.started(0, at: .seconds(5))
        #expect(supervision.probesDue(0) == [.startup])
    }
}
