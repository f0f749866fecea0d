import MeshBenchKit
import Testing

/// The pacer driven by a hand-advanced clock (nanoseconds).
struct OpenLoopPacerTests {
    @Test func connectionsShareTheRateWithEvenlySpacedSlots() {
        // 1000 QPS over 4 connections: each sends every 4 ms, offset by 1 ms from the previous one.
        let pacers = (0..<4).map { OpenLoopPacer(start: 0, end: 1_000_000_000, ratePerSecond: 1000, connection: $0, connections: 4) }
        #expect(pacers.map(\.interval) == Array(repeating: 4_000_000, count: 4))
        #expect(pacers.map(\.nextIntended) == [0, 1_000_000, 2_000_000, 3_000_000])
    }

    @Test func waitsForTheSlotThenSendsOnTime() {
        var pacer = OpenLoopPacer(start: 1_000, end: 100_000_000, ratePerSecond: 100, connection: 0, connections: 1)
        #expect(pacer.next(now: 0) == .wait(until: 1_000))
        #expect(pacer.next(now: 1_000) == .send(intended: 1_000))
        let sample = pacer.completed(now: 1_500)
        #expect(sample == .init(corrected: 500, uncorrected: 500))
        #expect(pacer.next(now: 2_000) == .wait(until: 10_001_000))
        #expect(pacer.lateSends == 0)
    }

    @Test func aSlowResponseIsChargedToTheRequestsItDelayed() {
        // 10 ms slots; the first response takes 35 ms, so slots 10, 20 and 30 ms are sent late.
        var pacer = OpenLoopPacer(start: 0, end: 1_000_000_000, ratePerSecond: 100, connection: 0, connections: 1)
        let ms: Int64 = 1_000_000
        #expect(pacer.next(now: 0) == .send(intended: 0))
        #expect(pacer.completed(now: 35 * ms).corrected == 35 * ms)
        // The next slot (10 ms) is already due: sent at once, its latency counted from 10 ms.
        #expect(pacer.next(now: 35 * ms) == .send(intended: 10 * ms))
        let second = pacer.completed(now: 36 * ms)
        #expect(second.corrected == 26 * ms)
        #expect(second.uncorrected == 1 * ms)
        #expect(pacer.next(now: 36 * ms) == .send(intended: 20 * ms))
        #expect(pacer.completed(now: 37 * ms).corrected == 17 * ms)
        #expect(pacer.next(now: 37 * ms) == .send(intended: 30 * ms))
        #expect(pacer.completed(now: 38 * ms).corrected == 8 * ms)
        // Caught up: slot 40 ms is in the future again.
        #expect(pacer.next(now: 38 * ms) == .wait(until: 40 * ms))
        #expect(pacer.lateSends == 3)
    }

    @Test func stopsAtTheEndOfTheRun() {
        var pacer = OpenLoopPacer(start: 0, end: 20_000_000, ratePerSecond: 100, connection: 0, connections: 1)
        #expect(pacer.next(now: 0) == .send(intended: 0))
        _ = pacer.completed(now: 1)
        #expect(pacer.next(now: 10_000_000) == .send(intended: 10_000_000))
        pacer.failed(now: 10_000_000)
        #expect(pacer.next(now: 20_000_000) == .done)
    }

    @Test func aSimulatedRunAtTheRateSendsTheScheduledCount() {
        // 200 QPS over 3 connections for one second, each response after 2 ms: 200 requests, none late.
        var clock: Int64 = 0
        var pacers = (0..<3).map { OpenLoopPacer(start: 0, end: 1_000_000_000, ratePerSecond: 200, connection: $0, connections: 3) }
        var recorder = LatencyRecorder()
        var active = Set(0..<3)
        while !active.isEmpty {
            var nextWake = Int64.max
            for index in active.sorted() {
                switch pacers[index].next(now: clock) {
                case .send:
                    recorder.record(nanoseconds: pacers[index].completed(now: clock + 2_000_000).corrected)
                    nextWake = min(nextWake, clock)
                case .wait(let until): nextWake = min(nextWake, until)
                case .done: active.remove(index)
                }
            }
            if nextWake != Int64.max { clock = max(clock + 2_000_000, nextWake) }
        }
        #expect(recorder.count == 200)
        #expect(pacers.allSatisfy { $0.lateSends == 0 })
        #expect(recorder.percentile(50) == 2000)
    }
}
