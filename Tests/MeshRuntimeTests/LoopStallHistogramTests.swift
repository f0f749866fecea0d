@testable import MeshRuntime
import Testing

/// The stall histogram alone: which bucket a stall lands in, and the cumulative form `/stats` shows.
struct LoopStallHistogramTests {
    @Test func aStallLandsInTheFirstBucketWhoseBoundHoldsIt() {
        #expect(LoopStallHistogram.bucket(microseconds: 0) == 0)
        #expect(LoopStallHistogram.bucket(microseconds: 16) == 0)
        #expect(LoopStallHistogram.bucket(microseconds: 17) == 1)
        #expect(LoopStallHistogram.bucket(microseconds: 32) == 1)
        #expect(LoopStallHistogram.bucket(microseconds: 33) == 2)
        #expect(LoopStallHistogram.bucket(microseconds: 1_048_576) == 16)
        #expect(LoopStallHistogram.bucket(microseconds: 1_048_577) == 17)
        #expect(LoopStallHistogram.bucket(microseconds: .max) == 17)
        for (index, bound) in LoopStallHistogram.bounds.enumerated() {
            #expect(LoopStallHistogram.bucket(microseconds: bound) == index)
            #expect(LoopStallHistogram.bucket(microseconds: bound + 1) == index + 1)
        }
    }

    @Test func cumulativeCountsSumAndStatsLines() {
        var histogram = LoopStallHistogram()
        histogram.record(nanoseconds: 5_000)
        histogram.record(nanoseconds: 40_000)
        histogram.record(nanoseconds: 3_000_000)
        histogram.record(nanoseconds: 5_000_000_000)
        // A clock that went backwards counts as no stall, not as a crash.
        histogram.record(nanoseconds: -7)
        #expect(histogram.count == 5)
        #expect(histogram.sumMicroseconds == 5 + 40 + 3_000 + 5_000_000)
        let cumulative = histogram.cumulative()
        #expect(cumulative.count == LoopStallHistogram.bounds.count + 1)
        #expect(cumulative[0].bound == 16 && cumulative[0].count == 2)
        #expect(cumulative[2].bound == 64 && cumulative[2].count == 3)
        #expect(cumulative[8].bound == 4096 && cumulative[8].count == 4)
        #expect(cumulative[16].count == 4)
        #expect(cumulative.last!.bound == nil && cumulative.last!.count == 5)
        let stats = parseStats(LoopStallHistogram.statsLines(histogram))
        #expect(stats["runtime.event_loop_stall_us.le_16"] == 2)
        #expect(stats["runtime.event_loop_stall_us.le_2048"] == 3)
        #expect(stats["runtime.event_loop_stall_us.le_inf"] == 5)
        #expect(stats["runtime.event_loop_stall_us.count"] == 5)
    }

    @Test func thePrometheusFamilyIsAHistogramWithCumulativeBuckets() throws {
        var histogram = LoopStallHistogram()
        histogram.record(nanoseconds: 100_000)
        let samples = try parsePrometheus(LoopStallHistogram.prometheusLines(histogram))
        let buckets = samples.filter { $0.name == "sidecar_runtime_event_loop_stall_us_bucket" }
        #expect(buckets.count == LoopStallHistogram.bounds.count + 1)
        #expect(buckets.first { $0.labels["le"] == "64" }?.value == 0)
        #expect(buckets.first { $0.labels["le"] == "128" }?.value == 1)
        #expect(buckets.first { $0.labels["le"] == "+Inf" }?.value == 1)
        #expect(samples.first { $0.name == "sidecar_runtime_event_loop_stall_us_count" }?.value == 1)
        #expect(samples.first { $0.name == "sidecar_runtime_event_loop_stall_us_sum" }?.value == 100)
    }
}
