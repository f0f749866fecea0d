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

    /// Cancelled events never come out, wherever their keys sat in the heap, and the rest still
    /// come out by deadline and scheduling order; a handle outlives its event harmlessly.
    @Test func cancelledEventsLeaveAtOnceAndTheRestKeepTheirOrder() {
        var queue = EventQueue<Int>()
        var reference: [(deadline: Int64, sequence: Int, event: Int, handle: EventQueue<Int>.Handle)] = []
        var spent: [EventQueue<Int>.Handle] = []
        var state: UInt64 = 7
        func next(_ bound: UInt64) -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (state >> 33) % bound
        }
        func earliest() -> Int {
            reference.indices.min { (reference[$0].deadline, reference[$0].sequence) < (reference[$1].deadline, reference[$1].sequence) }!
        }
        var cancelled = 0
        for round in 0..<4_000 {
            switch next(5) {
            case 0, 1, 2:
                let deadline = Int64(next(40))
                let handle = queue.schedule(round, at: deadline)
                reference.append((deadline, round, round, handle))
            case 3 where !reference.isEmpty:
                let victim = Int(next(UInt64(reference.count)))
                #expect(queue.isScheduled(reference[victim].handle))
                #expect(queue.cancel(reference[victim].handle) == reference[victim].event)
                spent.append(reference[victim].handle)
                reference.remove(at: victim)
                cancelled += 1
            case 4 where !reference.isEmpty:
                let expected = earliest()
                #expect(queue.popFirst()?.event == reference[expected].event)
                spent.append(reference[expected].handle)
                reference.remove(at: expected)
            default:
                // A spent handle (its slot possibly reused) cancels nothing.
                if !spent.isEmpty {
                    let handle = spent[Int(next(UInt64(spent.count)))]
                    #expect(!queue.isScheduled(handle))
                    #expect(queue.cancel(handle) == nil)
                }
            }
            #expect(queue.count == reference.count)
            #expect(queue.nextDeadline == reference.map(\.deadline).min())
        }
        #expect(cancelled > 500)
        while let entry = queue.popFirst() {
            let expected = earliest()
            #expect(entry.event == reference[expected].event)
            reference.remove(at: expected)
        }
        #expect(reference.isEmpty && queue.isEmpty)
    }
}
