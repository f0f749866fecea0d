import MeshBenchKit
import Testing

@Suite struct CaptureResultsTests {
    @Test func loadSummaryReadsBackWhatBenchLoadPrints() {
        let summary = LoadSummary(requests: 10_000, errors: 2, lateSends: 3, requestsPerSecond: 999, p50: 412, p90: 650, p99: 1_800, p999: 4_000)
        #expect(summary.line == "requests 10000 errors 2 late 3 req/s 999 p50 412us p90 650us p99 1800us p999 4000us")
        #expect(LoadSummary("[dataplane] starting\n" + summary.line + "\n") == summary)
        #expect(LoadSummary("requests 1 errors x late 0 req/s 1 p50 1us p90 1us p99 1us p999 1us") == nil)
        #expect(LoadSummary("bench: load run failed: connection refused") == nil)
    }

    @Test func theReportAddsOverTheDirectRunAtTheSameConcurrency() {
        func run(_ mode: CaptureBenchMode, _ connections: Int, p50: Int, p99: Int, cpu: Double?) -> CaptureRun {
            CaptureRun(mode: mode, connections: connections, summary: LoadSummary(requests: 10_000, errors: 0, lateSends: 0, requestsPerSecond: 1000, p50: p50, p90: p50, p99: p99, p999: p99),
                       sidecarCPUSeconds: cpu)
        }
        let report = CaptureReport(command: "bench capture", date: "2026-01-01T00:00:00Z", machine: "2 vCPU", runs: [
            run(.ebpf, 8, p50: 300, p99: 900, cpu: 1.5), run(.direct, 8, p50: 100, p99: 400, cpu: nil), run(.iptables, 8, p50: 320, p99: 1000, cpu: 1.6),
        ], counters: [.ebpf: "interceptor stopped: messages_redirected=42"])
        #expect(report.added(run(.ebpf, 8, p50: 300, p99: 900, cpu: 1.5), \.p99) == 500)
        let markdown = report.markdown()
        let rows = markdown.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| mode") }
        #expect(rows == [
            "| no sidecar (app → upstream) | 8 | 1000 | 100 | 400 | – | – | – | 0 |",
            "| iptables capture | 8 | 1000 | 320 | 1000 | 220 | 600 | 160 | 0 |",
            "| eBPF capture, sockmap shortcut on | 8 | 1000 | 300 | 900 | 200 | 500 | 150 | 0 |",
        ])
        #expect(markdown.contains("- eBPF capture, sockmap shortcut on: `interceptor stopped: messages_redirected=42`"))
    }
}
