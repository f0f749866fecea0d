import MeshBenchKit
import Testing

/// A sidecar's stall histogram as `bench dataplane` reads it from `/stats` before and after a run.
struct LoopStallReadingTests {
    static func stats(_ counts: [(String, UInt64)]) -> String {
        "cluster.x.upstream_rq_total: 9\n" + counts.map { "runtime.event_loop_stall_us.le_\($0.0): \($0.1)\n" }.joined() + "runtime.event_loop_stall_us.count: 0\n"
    }

    @Test func aRunsStallsAreTheDifferenceOfTwoReadings() throws {
        let before = try #require(LoopStallReading(statsText: Self.stats([("16", 10), ("32", 10), ("64", 12), ("inf", 12)])))
        // 1000 iterations in the run: 989 of at most 16 µs, one of 17-32, nine of 33-64 and one over a second.
        let after = try #require(LoopStallReading(statsText: Self.stats([("16", 999), ("32", 1000), ("64", 1011), ("inf", 1012)])))
        let run = after.since(before)
        #expect(run.count == 1000)
        #expect(run.percentile(50) == 16)
        #expect(run.percentile(99) == 32)
        #expect(run.percentile(99.9) == 64)
        #expect(run.percentile(100) == .max)
        #expect(run.summary == LoopStallSummary(count: 1000, p50: 16, p99: 32, p999: 64, max: .max))
    }

    @Test func statsWithoutTheHistogramOrWithABrokenLineReadAsNone() {
        #expect(LoopStallReading(statsText: "runtime.config_reloaded: 1\n") == nil)
        #expect(LoopStallReading(statsText: "runtime.event_loop_stall_us.le_16: many\n") == nil)
        #expect(LoopStallReading(statsText: "runtime.event_loop_stall_us.le_sixteen: 1\n") == nil)
        let empty = LoopStallReading(statsText: Self.stats([("16", 0), ("inf", 0)]))
        #expect(empty?.summary == nil)
    }

    @Test func theDataPlaneSectionShowsStallsBesideTheRunAndP999Added() {
        var results = DataPlaneResultsTests.sample
        let index = results.latency.firstIndex { $0.mode == .oursBoth }!
        results.latency[index].proxies[0].stalls = LoopStallSummary(count: 9_000, p50: 32, p99: 512, p999: 4096, max: 16_384)
        let text = results.markdown()
        #expect(text.contains("| mode | c=2 P50 / P99 / P999 |"))
        // ours-both adds 500 µs at P50, 1000 at P99 and 1000 at P999 over the baseline.
        #expect(text.contains("+0.500 / +1.000 / +1.000"))
        #expect(text.contains("### Event-loop stalls of our sidecars"))
        #expect(text.contains("| ours-both | 2 | client | 9000 | ≤ 32 | ≤ 512 | ≤ 4096 | ≤ 16384 | 1.900 |"))
        #expect(!DataPlaneResultsTests.sample.markdown().contains("Event-loop stalls"))
    }
}
