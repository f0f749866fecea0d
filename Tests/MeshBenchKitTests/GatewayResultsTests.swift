import MeshBenchKit
import Testing

/// `bench gateway`'s results: the goals of issue 12 judged on a fixed result set, and the
/// "Gateway" section they render.
struct GatewayResultsTests {
    static func run(_ mode: GatewayMode, c: Int, p50: UInt64, rss: Int? = nil) -> GatewayLatencyRun {
        GatewayLatencyRun(mode: mode, connections: c, requestedQPS: 1000, actualQPS: 999.5, durationSeconds: 10, requests: 10_000, errors: 0, lateSends: 0,
                          p50: p50, p90: p50 + 100, p99: p50 + 400, p999: p50 + 900, startTime: "2026-12-06T20:00:00Z",
                          proxies: rss.map { [ProxyUsageSample(side: "client", cpuSeconds: 0.4, peakRSSKiB: $0)] } ?? [])
    }

    static func closed(_ mode: GatewayMode, rps: Double, cpu: Double, rss: Int) -> GatewayThroughputRun {
        GatewayThroughputRun(mode: mode, tool: "bench", connections: 64, durationSeconds: 10, requestsPerSecond: rps, errors: 0, p50: 1500, p99: 4000,
                             proxyCPUSeconds: cpu, peakRSSKiB: rss)
    }

    /// Added P50 at c=4: ours 300 µs, NGINX 280, Envoy 600; at c=32: ours 400, NGINX 300 (1.33 ×).
    /// Per core: ours 20000, NGINX 22000 (0.91), Envoy 12000; TLS: ours 9000, NGINX 15000 (0.6), Envoy 8000.
    static var sample: GatewayResults {
        GatewayResults(
            date: "2026-12-06", machine: "test", command: "bench gateway --quick",
            notes: ["a note"],
            latency: [
                run(.baseline, c: 4, p50: 200), run(.ours, c: 4, p50: 500, rss: 14_000), run(.nginx, c: 4, p50: 480, rss: 6_000), run(.envoy, c: 4, p50: 800, rss: 40_000),
                run(.baseline, c: 32, p50: 250), run(.ours, c: 32, p50: 650, rss: 15_000), run(.nginx, c: 32, p50: 550, rss: 6_000), run(.envoy, c: 32, p50: 900, rss: 41_000),
            ],
            throughput: [
                closed(.baseline, rps: 60_000, cpu: 0, rss: 0),
                closed(.ours, rps: 20_000, cpu: 10, rss: 16_000), closed(.nginx, rps: 22_000, cpu: 10, rss: 7_000), closed(.envoy, rps: 12_000, cpu: 10, rss: 45_000),
                closed(.oursTLS, rps: 9_000, cpu: 10, rss: 32_000), closed(.nginxTLS, rps: 15_000, cpu: 10, rss: 9_000), closed(.envoyTLS, rps: 8_000, cpu: 10, rss: 47_000),
            ]
        )
    }

    func met(_ checks: [TargetCheck], _ prefix: String) -> Bool?? { checks.first { $0.target.hasPrefix(prefix) }.map(\.met) }

    @Test func goalsAreRatiosOfTheSameRun() {
        let checks = Self.sample.goalChecks()
        #expect(met(checks, "added P50: fsm gateway ≤ 1.2 × NGINX's") == .some(false))
        #expect(checks.first { $0.target.hasPrefix("added P50: fsm gateway ≤ 1.2") }?.measured == "c4 1.07, c32 1.33")
        #expect(met(checks, "added P50: fsm gateway < Envoy's") == .some(true))
        #expect(met(checks, "closed-loop req/s per proxy core: fsm gateway ≥ 0.8 × NGINX's") == .some(true))
        #expect(met(checks, "closed-loop req/s per proxy core: fsm gateway > Envoy's") == .some(true))
        #expect(met(checks, "TLS-terminating closed-loop req/s per proxy core: fsm gateway ≥ 0.8 × NGINX's") == .some(false))
        #expect(met(checks, "TLS-terminating closed-loop req/s per proxy core: fsm gateway > Envoy's") == .some(true))
        // Peak RSS of the one process over open and closed loop, plain and TLS: 32000 KiB (31.25 MiB).
        let memory = checks.first { $0.target.hasPrefix("fsm gateway peak RSS") }
        #expect(memory?.measured == "31.2 MiB")
        #expect(memory?.met == false)
    }

    @Test func aGatewayWithoutRunsHasNoMemoryFigure() {
        var results = Self.sample
        results.latency.removeAll { $0.mode == .ours }
        results.throughput.removeAll { $0.mode == .ours || $0.mode == .oursTLS }
        #expect(met(results.goalChecks(), "fsm gateway peak RSS") == .some(nil))
    }

    @Test func aPeerLeftOutIsNotMeasuredRatherThanMet() {
        var results = Self.sample
        results.latency.removeAll { $0.mode == .envoy }
        results.throughput.removeAll { $0.mode == .envoyTLS }
        let checks = results.goalChecks()
        #expect(met(checks, "added P50: fsm gateway < Envoy's") == .some(nil))
        #expect(met(checks, "TLS-terminating closed-loop req/s per proxy core: fsm gateway > Envoy's") == .some(nil))
        #expect(met(checks, "closed-loop req/s per proxy core: fsm gateway > Envoy's") == .some(true))
    }

    @Test func theSectionHasTheGoalsAddedLatencyThroughputAndMemory() {
        let text = Self.sample.markdown()
        #expect(text.hasPrefix("## Gateway\n\nMeasured 2026-12-06 on test with `bench gateway --quick`.\n- a note\n"))
        #expect(text.contains("| added P50: fsm gateway ≤ 1.2 × NGINX's | c4 1.07, c32 1.33 | **no** |"))
        #expect(text.contains("| proxy | c=4 P50 / P99 / P999 | c=32 P50 / P99 / P999 |"))
        #expect(text.contains("| fsm gateway | +0.300 / +0.300 / +0.300 | +0.400 / +0.400 / +0.400 |"))
        #expect(text.contains("| fsm-gateway-tls | bench | 64 | 10.0 | 9000 | 0 | 1.500 | 4.000 | 1.00 | 9000 |"))
        #expect(text.contains("| fsm gateway | 31.2 |\n| NGINX | 8.8 |\n| Envoy | 45.9 |\n"))
        #expect(!text.contains("| baseline (client → upstream) | +"))
    }

    @Test func theGatewaySectionIsSplicedBesideTheDataPlanes() {
        let document = "# Benchmarks\n\n## Data plane\nA\n\n## Gateway\nold\n\n## Simulator\nB\n"
        let spliced = DataPlaneResults.splice(section: "## Gateway\n\nnew\n", into: document)
        #expect(spliced == "# Benchmarks\n\n## Data plane\nA\n\n## Gateway\n\nnew\n\n## Simulator\nB\n")
        #expect(DataPlaneResults.splice(section: "## Gateway\n\nnew\n", into: "# Benchmarks\n\n## Data plane\nA\n") == "# Benchmarks\n\n## Data plane\nA\n\n## Gateway\n\nnew\n")
    }
}
