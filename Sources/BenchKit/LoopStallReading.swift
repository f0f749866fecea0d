/// A sidecar's event-loop stall histogram as its admin `/stats` shows it
/// (`runtime.event_loop_stall_us.le_<µs>` cumulative counts, `le_inf` last): read before and after
/// a run, the difference is the run's stalls.
public struct LoopStallReading: Sendable, Equatable {
    /// (upper bound in µs, nil for +Inf; cumulative count), in increasing order of bound.
    public var buckets: [(bound: UInt64?, count: UInt64)]

    public static func == (a: LoopStallReading, b: LoopStallReading) -> Bool {
        a.buckets.elementsEqual(b.buckets) { $0.bound == $1.bound && $0.count == $1.count }
    }

    static let prefix = "runtime.event_loop_stall_us.le_"

    /// The stall lines of a `/stats` text; nil when it has none (a sidecar without the histogram).
    public init?(statsText: String) {
        var buckets: [(bound: UInt64?, count: UInt64)] = []
        for line in statsText.split(separator: "\n") where line.hasPrefix(Self.prefix) {
            let rest = line.dropFirst(Self.prefix.count)
            guard let colon = rest.firstIndex(of: ":"), let count = UInt64(rest[rest.index(after: colon)...].drop { $0 == " " }) else { return nil }
            let name = rest[..<colon]
            if name == "inf" {
                buckets.append((nil, count))
            } else if let bound = UInt64(name) {
                buckets.append((bound, count))
            } else {
                return nil
            }
        }
        guard !buckets.isEmpty else { return nil }
        self.buckets = buckets.sorted { ($0.bound ?? .max) < ($1.bound ?? .max) }
    }

    init(buckets: [(bound: UInt64?, count: UInt64)]) {
        self.buckets = buckets
    }

    public var count: UInt64 { buckets.last?.count ?? 0 }

    /// The stalls recorded since `earlier` (the same sidecar's reading before a run).
    public func since(_ earlier: LoopStallReading) -> LoopStallReading {
        let before = Dictionary(earlier.buckets.map { ($0.bound ?? .max, $0.count) }, uniquingKeysWith: max)
        return LoopStallReading(buckets: buckets.map { ($0.bound, $0.count - min($0.count, before[$0.bound ?? .max] ?? 0)) })
    }

    /// The upper bound (µs) of the bucket holding the `percentile`th stall; `UInt64.max` for the
    /// +Inf bucket; nil without stalls.
    public func percentile(_ percentile: Double) -> UInt64? {
        guard count > 0 else { return nil }
        // The rank of the stall, rounded up; the small slack keeps 99.9% of 1000 at 999, not 1000.
        let rank = UInt64((percentile * Double(count) / 100 - 1e-9).rounded(.up))
        let bucket = buckets.first { $0.count >= max(rank, 1) } ?? buckets[buckets.count - 1]
        return bucket.bound ?? .max
    }

    /// The run's summary as the benchmark keeps it.
    public var summary: LoopStallSummary? {
        guard let p50 = percentile(50), let p99 = percentile(99), let p999 = percentile(99.9), let p100 = percentile(100) else { return nil }
        return LoopStallSummary(count: count, p50: p50, p99: p99, p999: p999, max: p100)
    }
}

/// One sidecar's event-loop stalls over one run: how many iterations read from a socket, and the
/// bucket bounds (µs; `UInt64.max` for over a second) of their P50, P99, P999 and longest.
public struct LoopStallSummary: Sendable, Equatable, Codable {
    public var count: UInt64
    public var p50: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64

    public init(count: UInt64, p50: UInt64, p99: UInt64, p999: UInt64, max: UInt64) {
        self.count = count
        self.p50 = p50
        self.p99 = p99
        self.p999 = p999
        self.max = max
    }
}
