extension LoopStallHistogram {
    /// `runtime.event_loop_stall_us` in `/stats`; `sidecar_runtime_event_loop_stall_us` in Prometheus.
    public static let statName = "runtime.event_loop_stall_us"

    /// The `/stats` lines: cumulative counts per bucket (`.le_16` … `.le_1048576`, `.le_inf`), the
    /// count and the sum in microseconds, one `name: value` line each.
    public static func statsLines(_ histogram: LoopStallHistogram) -> String {
        var lines = ""
        for (bound, count) in histogram.cumulative() {
            lines += "\(statName).le_\(bound.map(String.init) ?? "inf"): \(count)\n"
        }
        lines += "\(statName).count: \(histogram.count)\n"
        lines += "\(statName).sum: \(histogram.sumMicroseconds)\n"
        return lines
    }

    /// The Prometheus histogram family (text exposition format), its bounds in microseconds.
    public static func prometheusLines(_ histogram: LoopStallHistogram) -> String {
        let family = SidecarMetrics.familyName(statName[...])
        var lines = "# TYPE \(family) histogram\n"
        for (bound, count) in histogram.cumulative() {
            lines += "\(family)_bucket{le=\"\(bound.map(String.init) ?? "+Inf")\"} \(count)\n"
        }
        lines += "\(family)_sum \(histogram.sumMicroseconds)\n"
        lines += "\(family)_count \(histogram.count)\n"
        return lines
    }
}
