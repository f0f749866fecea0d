import MeshProxy
import Testing

@Suite("Integer table")
struct IntegerTableTests {
    /// A fixed xorshift stream, so that a failure replays.
    struct Stream: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
    }

    @Test func findsWhatWasInsertedAndNothingElse() {
        var table = IntegerTable<UInt64, String>()
        #expect(table.isEmpty)
        #expect(table[7] == nil)
        for key: UInt64 in [7, 0, UInt64.max, 1 << 40] { table[key] = "v\(key)" }
        #expect(table.count == 4)
        #expect(table[7] == "v7")
        #expect(table[0] == "v0")
        #expect(table[UInt64.max] == "v\(UInt64.max)")
        #expect(table[1 << 40] == "v\(1 << 40)")
        #expect(table[8] == nil)
        table[7] = "seven"
        #expect(table.count == 4)
        #expect(table[7] == "seven")
        #expect(table.keys.sorted() == [0, 7, 1 << 40, UInt64.max])
        #expect(table.values.sorted() == ["seven", "v0", "v1099511627776", "v\(UInt64.max)"])
    }

    @Test func changesAValueWhereItIsStored() {
        var table = IntegerTable<UInt64, [Int]>()
        table[3] = [1]
        table[3]?.append(2)
        table[4]?.append(9)
        #expect(table[3] == [1, 2])
        #expect(table[4] == nil)
        let index = table.index(forKey: 3)!
        table[index].append(3)
        #expect(table[3] == [1, 2, 3])
        #expect(table.key(at: index) == 3)
        // Setting nil through the subscript removes the key.
        table[3] = nil
        #expect(table[3] == nil)
        #expect(table.isEmpty)
    }

    @Test func removingKeepsEveryOtherKeyReachable() {
        // Serial numbers as the engine hands them out: many live at once, removed out of order,
        // the table growing and wrapping around while entries after a hole shift back.
        var table = IntegerTable<UInt64, UInt64>()
        var model: [UInt64: UInt64] = [:]
        var stream = Stream(state: 0x9E37_79B9_7F4A_7C15)
        var next: UInt64 = 1
        for _ in 0..<20_000 {
            let roll = stream.next() % 10
            if roll < 6 || model.isEmpty {
                table[next] = next &* 3
                model[next] = next &* 3
                next += 1
            } else {
                let live = Array(model.keys)
                let victim = live[Int(stream.next() % UInt64(live.count))]
                #expect(table.removeValue(forKey: victim) == model.removeValue(forKey: victim))
            }
        }
        #expect(table.count == model.count)
        for key in 1..<next { #expect(table[key] == model[key]) }
        #expect(table.removeValue(forKey: next) == nil)
    }

    @Test func collidingKeysProbeAndSurviveRemovalAtTheWrap() {
        // Multiples of 2^60 share their low bits; whatever their homes, each stays findable while
        // its neighbours in the probe run are removed, in every order.
        let keys: [UInt64] = (0..<12).map { UInt64($0) << 60 | 5 }
        for first in keys.indices {
            var table = IntegerTable<UInt64, Int>()
            for (value, key) in keys.enumerated() { table[key] = value }
            var removed: Set<UInt64> = []
            for offset in keys.indices {
                let key = keys[(first + offset * 5) % keys.count]
                guard removed.insert(key).inserted else { continue }
                #expect(table.removeValue(forKey: key) != nil)
                for (value, other) in keys.enumerated() where !removed.contains(other) { #expect(table[other] == value) }
            }
            #expect(table.isEmpty)
        }
    }
}
