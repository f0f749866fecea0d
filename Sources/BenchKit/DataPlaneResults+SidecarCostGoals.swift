/// Issue 11's goals for the sidecar's cost per request, each a ratio of figures from the same
/// run: closed-loop throughput per proxy core against HAProxy's, the two-sidecar path's added
/// P50 against HAProxy's and P99 against Envoy's at every concurrency (P999 beside them), CPU per
/// 1000 requests at 1000 QPS against HAProxy's, and the sidecar's peak RSS.
extension DataPlaneResults {
    /// The peak RSS goal, in MiB (the bookstore-like config `bench dataplane` gives the sidecar).
    static let sidecarRSSGoalMiB = 16.0

    public func sidecarCostChecks() -> [TargetCheck] {
        var checks: [TargetCheck] = []
        let ours = throughput.first { $0.mode == .oursClient && $0.tool == "bench" }?.requestsPerSecondPerCore
        let haproxy = throughput.first { $0.mode == .haproxy1 && $0.tool == "bench" }?.requestsPerSecondPerCore
        checks.append(TargetCheck(target: "closed-loop req/s per proxy core: ours ≥ 0.9 × HAProxy", measured: "ratio \(ratioText(ours, haproxy))",
                                  met: ours.flatMap { o in haproxy.map { o >= 0.9 * $0 } }))
        if modes.contains(.oursBoth) {
            checks.append(addedCheck("P50", \.p50, against: .haproxy2, factor: 1.2))
            checks.append(addedCheck("P99", \.p99, against: .envoy2, factor: 1))
            let p999 = concurrencies.map { "c\($0) \(added(.oursBoth, connections: $0, \.p999).map { format($0 / 1000, digits: 3) } ?? "–") ms" }
            checks.append(TargetCheck(target: "ours-both added P999 (shown, no goal)", measured: p999.joined(separator: ", "), met: nil))
        }
        let oursCPU = cpuPer1000Requests(.oursClient), haproxyCPU = cpuPer1000Requests(.haproxy1)
        checks.append(TargetCheck(target: "CPU ms per 1000 requests at 1000 QPS: ours ≤ 1.2 × HAProxy (one proxy)",
                                  measured: "\(format(oursCPU)) vs \(format(haproxyCPU)) ms, ratio \(ratioText(oursCPU, haproxyCPU))",
                                  met: oursCPU.flatMap { o in haproxyCPU.map { o <= 1.2 * $0 } }))
        let rss = peakRSSKiB(.oursClient, side: "client")
        checks.append(TargetCheck(target: "our sidecar peak RSS ≤ \(format(Self.sidecarRSSGoalMiB, digits: 0)) MiB", measured: rss.map { mebibytes($0) + " MiB" } ?? "–",
                                  met: rss.map { Double($0) / 1024 <= Self.sidecarRSSGoalMiB }))
        return checks
    }

    /// ours-both's added latency (`path`) at every concurrency against `peer`'s times `factor`.
    private func addedCheck(_ name: String, _ path: KeyPath<LatencyRun, UInt64>, against peer: DataPlaneMode, factor: Double) -> TargetCheck {
        var ratios: [String] = []
        var met: Bool? = true
        for connections in concurrencies {
            let mine = added(.oursBoth, connections: connections, path), theirs = added(peer, connections: connections, path)
            ratios.append("c\(connections) \(ratioText(mine, theirs))")
            met = combine(met, mine.flatMap { m in theirs.map { m <= factor * max($0, 0) } })
        }
        let bound = factor == 1 ? "" : "\(format(factor, digits: 1)) × "
        return TargetCheck(target: "ours-both added \(name) ≤ \(bound)\(peer.rawValue) added \(name)", measured: ratios.joined(separator: ", "), met: met)
    }
}
