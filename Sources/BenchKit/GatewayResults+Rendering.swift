import Foundation

extension GatewayResults {
    /// The "Gateway" section of docs/BENCHMARKS.md (starts with its `## ` heading).
    public func markdown() -> String {
        var out = "## Gateway\n\n"
        out += "Measured \(date) on \(machine) with `\(command)`.\n"
        for note in notes { out += "- \(note)\n" }
        out += "\n### Goals of issue 12 (ratios from this run)\n\n| goal | measured | met |\n|---|---|---|\n"
        for check in goalChecks() {
            out += "| \(check.target) | \(check.measured) | \(check.met.map { $0 ? "yes" : "**no**" } ?? "not measured") |\n"
        }
        let cs = latency.concurrencies
        out += "\n### Latency added over the baseline at \(format(latency.first?.requestedQPS, digits: 0)) QPS, HTTP/1.1 1 KiB (ms, open loop, from each request's intended send time)\n\n"
        out += "| proxy | " + cs.map { "c=\($0) P50 / P99 / P999" }.joined(separator: " | ") + " |\n"
        out += "|---|" + String(repeating: "---|", count: cs.count) + "\n"
        for mode in latency.modes where mode != .baseline {
            let cells = cs.map { c -> String in
                [\GatewayLatencyRun.p50, \.p99, \.p999].map { latency.added(mode, connections: c, $0).map { signed($0 / 1000) } ?? "–" }.joined(separator: " / ")
            }
            out += "| \(mode.title) | " + cells.joined(separator: " | ") + " |\n"
        }
        out += "\n### Every open-loop run (latency in ms; proxy CPU in average millicores; peak RSS in MiB)\n\n"
        out += DataPlaneResults.openLoopTable(latency)
        if !throughput.isEmpty {
            out += "\n### Closed loop, maximum throughput (plain HTTP/1.1, then TLS terminated at the proxy)\n\n"
            out += DataPlaneResults.throughputTable(throughput)
        }
        out += "\n### Peak RSS of each proxy process over every run, plain and TLS (MiB)\n\n| proxy | peak RSS |\n|---|---|\n"
        for proxy in GatewayMode.proxies {
            guard let peak = peakRSSKiB(proxy.modes) else { continue }
            out += "| \(proxy.name) | \(mebibytes(peak)) |\n"
        }
        return out
    }

    /// Issue 12's gateway goals, each a ratio of figures from this run: added P50 at every
    /// concurrency ≤ 1.2 × NGINX's and below Envoy's; closed-loop req/s per proxy core ≥ 0.8 ×
    /// NGINX's and above Envoy's (plain and TLS-terminating); peak RSS under 30 MiB.
    public func goalChecks() -> [TargetCheck] {
        var checks = [latencyCheck(against: .nginx, "≤ 1.2 × NGINX's") { mine, theirs in mine <= 1.2 * max(theirs, 0) },
                      latencyCheck(against: .envoy, "< Envoy's") { mine, theirs in mine < theirs }]
        for (ours, nginx, envoy) in [(GatewayMode.ours, GatewayMode.nginx, GatewayMode.envoy), (.oursTLS, .nginxTLS, .envoyTLS)] {
            let mine = closedLoop(ours)?.requestsPerSecondPerCore
            let label = ours.terminatesTLS ? "TLS-terminating closed-loop req/s per proxy core" : "closed-loop req/s per proxy core"
            for (peer, goal, holds) in [(nginx, "≥ 0.8 × NGINX's", { (m: Double, t: Double) in m >= 0.8 * t }), (envoy, "> Envoy's", { $0 > $1 })] {
                let theirs = closedLoop(peer)?.requestsPerSecondPerCore
                checks.append(TargetCheck(target: "\(label): fsm gateway \(goal)", measured: "\(format(mine, digits: 0)) vs \(format(theirs, digits: 0)), ratio \(ratioText(mine, theirs))",
                                          met: mine.flatMap { m in theirs.map { holds(m, $0) } }))
            }
        }
        let peak = peakRSSKiB([.ours, .oursTLS])
        checks.append(TargetCheck(target: "fsm gateway peak RSS (plain and TLS runs) < 30 MiB", measured: peak.map { mebibytes($0) + " MiB" } ?? "–", met: peak.map { $0 < 30 * 1024 }))
        return checks
    }

    /// Our added P50 against a peer's at every concurrency measured.
    private func latencyCheck(against peer: GatewayMode, _ goal: String, holds: (Double, Double) -> Bool) -> TargetCheck {
        var ratios: [String] = []
        var met: Bool? = latency.concurrencies.isEmpty ? nil : true
        for c in latency.concurrencies {
            let mine = latency.added(.ours, connections: c, \.p50)
            let theirs = latency.added(peer, connections: c, \.p50)
            ratios.append("c\(c) \(ratioText(mine, theirs))")
            met = combine(met, mine.flatMap { m in theirs.map { holds(m, $0) } })
        }
        return TargetCheck(target: "added P50: fsm gateway \(goal)", measured: ratios.joined(separator: ", "), met: met)
    }
}
