/// How long an event loop stayed busy once it started on a batch of reads (DECISIONS 237): counts in
/// power-of-two microsecond buckets from ≤16 µs to ≤1,048,576 µs (about 1 s), then +Inf. Recording
/// is a shift and an increment, whatever was recorded before; a percentile is the upper bound of
/// the bucket it falls in.
public struct LoopStallHistogram: Sendable, Equatable {
    /// Upper bounds in microseconds of the finite buckets: 16, 32, ... 1,048,576.
    public static let bounds: [UInt64] = (4...20).map { UInt64(1) << $0 }

    /// Counts per bucket (not cumulative); the last one is +Inf.
    public private(set) var counts = [UInt64](repeating: 0, count: LoopStallHistogram.bounds.count + 1)
    /// Sum of the recorded stalls, microseconds.
    public private(set) var sumMicroseconds: UInt64 = 0

    public init() {}

    public var count: UInt64 { counts.reduce(0, +) }

    /// The bucket a stall of `microseconds` falls in: the first whose bound is at least it.
    static func bucket(microseconds: UInt64) -> Int {
        guard microseconds > 16 else { return 0 }
        let bits = UInt64.bitWidth - (microseconds - 1).leadingZeroBitCount
        return min(bits - 4, bounds.count)
    }

    public mutating func record(nanoseconds: Int64) {
        let microseconds = UInt64(max(0, nanoseconds)) / 1000
        counts[Self.bucket(microseconds: microseconds)] += 1
        sumMicroseconds &+= microseconds
    }

    /// (upper bound in µs or nil for +Inf, count at or below it), the cumulative form `/stats` and
    /// Prometheus show.
    public func cumulative() -> [(bound: UInt64?, count: UInt64)] {
        var total: UInt64 = 0
        return counts.enumerated().map { index, count in
            total += count
            return (index < Self.bounds.count ? Self.bounds[index] : nil, total)
        }
    }
}
