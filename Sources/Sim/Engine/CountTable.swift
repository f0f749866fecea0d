/// Counts by integer key, for a load's per-request tallies (status codes, deployments, and both
/// per second of virtual time). Small keys count in a dense array, larger ones in a dictionary:
/// four dictionary updates per simulated request (a hash each) were ~2.5% of its cost.
/// `counts` gives the same `[key: count]` a dictionary of every key would hold.
struct CountTable {
    /// Keys below this count in `dense`.
    static let denseLimit = 1024
    private var dense: [Int] = []
    private var sparse: [Int: Int] = [:]

    mutating func add(_ key: Int, _ count: Int = 1) {
        guard key >= 0, key < Self.denseLimit else {
            sparse[key, default: 0] += count
            return
        }
        if key >= dense.count { dense += repeatElement(0, count: key + 1 - dense.count) }
        dense[key] += count
    }

    /// Every key counted at least once, with its count.
    var counts: [Int: Int] {
        var result = sparse
        for (key, count) in dense.enumerated() where count != 0 { result[key, default: 0] += count }
        return result
    }
}

/// Counts by (second of virtual time, key), with the key below 2^20: `counts` is keyed
/// `second << 20 | key`. The latest second counts in a `CountTable` and moves into the
/// dictionary when another second begins (virtual time only moves forward, so once per second).
struct SecondCountTable {
    private var second = -1
    private var current = CountTable()
    private var earlier: [Int: Int] = [:]

    mutating func add(_ key: Int, at second: Int) {
        if second != self.second {
            moveCurrent()
            self.second = second
        }
        current.add(key)
    }

    var counts: [Int: Int] {
        var copy = self
        copy.moveCurrent()
        return copy.earlier
    }

    private mutating func moveCurrent() {
        guard second >= 0 else { return }
        for (key, count) in current.counts { earlier[second << 20 | key, default: 0] += count }
        current = CountTable()
    }
}
