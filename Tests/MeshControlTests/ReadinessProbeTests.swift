import MeshControl
import MeshModel
import Testing

@Suite struct ReadinessProbeTests {
    @Test func failuresInARowMakeItNotReadyAndOneSuccessReadyAgain() {
        var probe = ReadinessProbe(settings: .kubelet)
        #expect(probe.isReady && probe.isSettled)
        #expect(probe.record(success: false) == nil)
        #expect(probe.record(success: false) == nil)
        #expect(!probe.isSettled)
        #expect(probe.record(success: false) == false)
        #expect(!probe.isReady)
        #expect(probe.record(success: false) == nil)
        #expect(probe.record(success: true) == true)
        #expect(probe.isReady && probe.isSettled)
    }

    @Test func aSuccessBreaksTheFailureStreak() {
        var probe = ReadinessProbe(settings: ReadinessProbe.Settings(period: .seconds(1), failureThreshold: 2, successThreshold: 2))
        #expect(probe.record(success: false) == nil)
        #expect(probe.record(success: true) == nil)
        #expect(probe.isSettled)
        #expect(probe.record(success: false) == nil)
        #expect(probe.record(success: false) == false)
        // Two successes in a row to be ready again; a failure in between starts over.
        #expect(probe.record(success: true) == nil)
        #expect(probe.record(success: false) == nil)
        #expect(probe.record(success: true) == nil)
        #expect(probe.record(success: true) == true)
    }

    @Test func ticksFollowTheEpochAndThePeriod() {
        let probe = ReadinessProbe(settings: ReadinessProbe.Settings(period: .seconds(10)))
        #expect(probe.nextTick(after: .seconds(12), epoch: .zero) == .seconds(20))
        #expect(probe.nextTick(after: .seconds(20), epoch: .zero) == .seconds(30))
        #expect(probe.nextTick(after: .seconds(12), epoch: .seconds(5)) == .seconds(15))
        #expect(probe.nextTick(after: .seconds(1), epoch: .seconds(5)) == .seconds(15))
    }
}

@Suite struct CrashLoopBackoffTests {
    @Test func delaysDoubleFromTheBaseUpToTheCap() {
        var backoff = CrashLoopBackoff(settings: .kubelet)
        var delays: [MeshDuration] = []
        var now = MeshDuration.zero
        for _ in 0..<7 {
            let delay = backoff.exited(at: now + .seconds(1), startedAt: now)
            delays.append(delay)
            now = now + .seconds(1) + delay
        }
        #expect(delays == [.seconds(10), .seconds(20), .seconds(40), .seconds(80), .seconds(160), .minutes(5), .minutes(5)])
        #expect(backoff.restarts == 7)
    }

    @Test func aContainerThatRanTenMinutesStartsFromTheBaseAgain() {
        var backoff = CrashLoopBackoff(settings: CrashLoopBackoff.Settings(base: .milliseconds(200), cap: .seconds(2)))
        #expect(backoff.settings.resetAfter == .seconds(4))
        #expect(backoff.exited(at: .seconds(1), startedAt: .zero) == .milliseconds(200))
        #expect(backoff.exited(at: .seconds(2), startedAt: .seconds(1)) == .milliseconds(400))
        #expect(backoff.exited(at: .seconds(10), startedAt: .seconds(6)) == .milliseconds(200))
    }
}
