import Histogram

/// Latencies in microseconds in an HdrHistogram (3 significant digits, up to 10 minutes), plus
/// the counts a run reports beside them.
public struct LatencyRecorder: Sendable {
    public private(set) var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    public private(set) var errors = 0
    public private(set) var non2xx = 0

    public init() {}

    public var count: Int { Int(histogram.totalCount) }

    public mutating func record(nanoseconds: Int64) {
        let micros = UInt64(max(1, (nanoseconds + 500) / 1000))
        _ = histogram.record(min(micros, 600_000_000))
    }

    public mutating func recordError() { errors += 1 }
    public mutating func recordNon2xx() { non2xx += 1 }

    public mutating func merge(_ other: LatencyRecorder) {
        histogram.add(other.histogram)
        errors += other.errors
        non2xx += other.non2xx
    }

    /// Percentile (0–100) in microseconds; 0 when nothing was recorded.
    public func percentile(_ value: Double) -> UInt64 {
        count == 0 ? 0 : histogram.valueAtPercentile(value)
    }
}
