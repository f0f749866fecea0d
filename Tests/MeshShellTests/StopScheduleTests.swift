import MeshShell
import Testing

/// The deadline of a child process: SIGTERM at the deadline, SIGKILL a grace later, its pipes
/// abandoned a drain after that (or after it exited), whatever holds them.
@Suite struct StopScheduleTests {
    @Test func withoutADeadlineItWaitsForTheExit() {
        var schedule = StopSchedule(deadline: nil)
        #expect(schedule.tick(at: .seconds(3600)) == .wait(until: nil))
        #expect(schedule.stage == .running)
        #expect(!schedule.stopRequested)
    }

    @Test func pastTheDeadlineItTerminatesThenKillsThenAbandons() {
        var schedule = StopSchedule(deadline: .seconds(5), grace: .seconds(2), drain: .seconds(1))
        #expect(schedule.tick(at: .seconds(1)) == .wait(until: .seconds(5)))
        #expect(schedule.tick(at: .seconds(5)) == .terminate)
        #expect(schedule.stopRequested)
        #expect(schedule.tick(at: .seconds(6)) == .wait(until: .seconds(7)))
        #expect(schedule.tick(at: .milliseconds(7001)) == .kill)
        #expect(schedule.tick(at: .milliseconds(7500)) == .wait(until: .milliseconds(8001)))
        #expect(schedule.tick(at: .seconds(9)) == .abandon)
        #expect(schedule.tick(at: .seconds(10)) == .abandon)
        #expect(schedule.stage == .abandoned)
    }

    @Test func anExitBeforeTheDeadlineLeavesOnlyTheDrain() {
        var schedule = StopSchedule(deadline: .seconds(5), grace: .seconds(2), drain: .seconds(1))
        schedule.exited(at: .seconds(1))
        #expect(schedule.tick(at: .milliseconds(1500)) == .wait(until: .seconds(2)))
        #expect(schedule.tick(at: .seconds(2)) == .abandon)
        #expect(!schedule.stopRequested)
        var late = StopSchedule(deadline: .seconds(5), grace: .seconds(2), drain: .seconds(1))
        late.exited(at: .seconds(1))
        // Its deadline no longer matters: no signal goes to a reaped pid.
        #expect(late.tick(at: .seconds(6)) == .abandon)
    }

    @Test func anExitAfterSIGTERMStillCountsAsStopped() {
        var schedule = StopSchedule(deadline: .seconds(1))
        #expect(schedule.tick(at: .seconds(1)) == .terminate)
        schedule.exited(at: .milliseconds(1200))
        #expect(schedule.stage == .exited(at: .milliseconds(1200)))
        #expect(schedule.stopRequested)
    }

    @Test func stoppingNowSkipsTheDeadline() {
        var schedule = StopSchedule(deadline: nil, grace: .milliseconds(300))
        #expect(schedule.stopNow(at: .seconds(2)) == .terminate)
        #expect(schedule.tick(at: .milliseconds(2100)) == .wait(until: .milliseconds(2300)))
        #expect(schedule.tick(at: .milliseconds(2300)) == .kill)
        // A second stop does not start over.
        #expect(schedule.stopNow(at: .milliseconds(2400)) == .wait(until: .milliseconds(4300)))
    }
}
