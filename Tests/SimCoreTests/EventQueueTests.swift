import Testing
@testable import SimCore

/// The scheduler's queue hands events out by deadline, and in scheduling order within one
/// deadline, whatever the interleaving of schedules and pops (its slots are reused).
@Suite struct EventQueueTests {
    @Test func popsByDeadlineThenSchedulingOrder() {
        var queue = EventQueue<Int>()
        // A reference: every event still queued, with its deadline and scheduling number.
        var reference: [(deadline: Int64, sequence: Int, event: Int)] = []
        var state: UInt64 = 42
        func next(_ bound: UInt64) -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (state >> 33) % bound
        }
        var sequence = 0
        var popped = 0
        for round in 0..<3_000 {
            if next(3) != 0 || reference.isEmpty {
                // Few distinct deadlines, so that many events share one.
                let deadline = Int64(next(50))
                queue.schedule(round, at: deadline)
                reference.append((deadline, sequence, round))
                sequence += 1
            } else {
                let expected = reference.indices.min { (reference[$0].deadline, reference[$0].sequence) < (reference[$1].deadline, reference[$1].sequence) }!
                let entry = queue.popFirst()
                #expect(entry?.event == reference[expected].event)
                #expect(entry?.deadline == reference[expected].deadline)
                reference.remove(at: expected)
                popped += 1
            }
            #expect(queue.count == reference.count)
        }
        #expect(popped > 500)
        while let entry = queue.popFirst() {
            let expected = reference.indices.min { (reference[$0].deadline, reference[$0].sequence) < (reference[$1].deadline, reference[$1].sequence) }!
            #expect(entry.event == reference[expected].event)
            reference.remove(at: expected)
        }
        #expect(reference.isEmpty && queue.isEmpty && queue.nextDeadline == nil)
    }
}
