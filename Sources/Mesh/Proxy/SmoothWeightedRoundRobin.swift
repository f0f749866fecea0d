/// Nginx's smooth weighted round robin (the deterministic shares Pipy's RoundRobinLoadBalancer
/// gives): over any window of `sum(weights)` picks, item i is chosen exactly weights[i] times,
/// interleaved rather than in runs.
struct SmoothWeightedRoundRobin: Hashable, Sendable {
    private(set) var weights: [Int]
    private var current: [Int]
    private var total: Int

    /// Negative weights count as 0; if every weight is 0 the items share equally.
    init(weights: [Int]) {
        var clean = weights.map { max(0, $0) }
        if !clean.isEmpty, clean.allSatisfy({ $0 == 0 }) { clean = Array(repeating: 1, count: clean.count) }
        self.weights = clean
        self.current = Array(repeating: 0, count: clean.count)
        self.total = clean.reduce(0, +)
    }

    var isEmpty: Bool { total == 0 }

    /// How many items have a positive weight.
    var servingCount: Int { weights.reduce(0) { $0 + ($1 > 0 ? 1 : 0) } }

    /// The index of the next item, nil when there are none.
    mutating func next() -> Int? {
        guard total > 0 else { return nil }
        if weights.count == 1 { return 0 }
        var best = -1
        var bestValue = Int.min
        for i in weights.indices {
            current[i] += weights[i]
            if weights[i] > 0, current[i] > bestValue {
                bestValue = current[i]
                best = i
            }
        }
        current[best] -= total
        return best
    }
}
