import Testing
@testable import SimCore

/// A load's tallies count what a dictionary of every key would: small keys in the dense array,
/// negative and large ones in the dictionary, and per second whatever order the seconds come in.
@Suite struct CountTableTests {
    @Test func countsAsADictionaryWould() {
        var table = CountTable()
        var reference: [Int: Int] = [:]
        var state: UInt64 = 5
        for _ in 0..<5_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let roll = Int((state >> 33) % 100)
            // Mostly status-like keys; some negative, some past the dense range.
            let key = roll < 80 ? [0, 200, 200, 503, 404][roll % 5] : roll < 90 ? -roll : CountTable.denseLimit + roll * 37
            let count = 1 + roll % 3
            table.add(key, count)
            reference[key, default: 0] += count
        }
        #expect(table.counts == reference)
        #expect(CountTable().counts.isEmpty)
    }

    @Test func perSecondCountsKeyedBySecondAndKey() {
        var table = SecondCountTable()
        var reference: [Int: Int] = [:]
        var state: UInt64 = 8
        var second = 0
        for round in 0..<5_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let roll = Int((state >> 33) % 100)
            // Forward mostly; now and then an earlier second again (the table must not rely on order).
            if roll < 5 { second += 1 } else if roll == 5, second > 2 { second -= 2 }
            let key = roll < 60 ? 200 : roll < 90 ? roll % 7 : (1 << 19) + roll
            table.add(key, at: second)
            reference[second << 20 | key, default: 0] += 1
            if round % 1_000 == 0 { #expect(table.counts == reference) }
        }
        #expect(table.counts == reference)
        #expect(SecondCountTable().counts.isEmpty)
    }
}
