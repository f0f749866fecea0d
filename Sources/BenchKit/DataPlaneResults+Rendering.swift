import Foundation

extension DataPlaneResults {
    /// The columns of Istio's perf/benchmark CSV (fortio): latencies in microseconds, proxy CPU in
    /// average millicores, proxy memory in MiB (here the peak, VmHWM, hence `mem_Mi_max`).
    /// "fortioclient" is the first proxy on the path, "fortioserver" the second.
    public static let csvHeader = [
        "Labels", "StartTime", "RequestedQPS", "ActualQPS", "NumThreads", "p50", "p90", "p99", "p999", "errorPercent",
        "cpu_mili_avg_istio_proxy_fortioclient", "cpu_mili_avg_istio_proxy_fortioserver",
        "mem_Mi_max_istio_proxy_fortioclient", "mem_Mi_max_istio_proxy_fortioserver",
    ]

    public func csv() -> String {
        var lines = [Self.csvHeader.joined(separator: ",")]
        for run in latency {
            let attempts = run.requests + run.errors
            let errorPercent: Double = attempts > 0 ? Double(run.errors) * 100 / Double(attempts) : 0
            var cells: [String] = ["\(run.mode.rawValue)_qps_\(Int(run.requestedQPS))_c_\(run.connections)", run.startTime]
            cells.append(format(run.requestedQPS, digits: 0))
            cells.append(format(run.actualQPS, digits: 1))
            cells.append(String(run.connections))
            cells += [String(run.p50), String(run.p90), String(run.p99), String(run.p999)]
            cells.append(format(errorPercent, digits: 3))
            for side in ["client", "server"] {
                cells.append(run.milliCores(side).map { format($0, digits: 1) } ?? "")
            }
            for side in ["client", "server"] {
                cells.append(run.proxy(side).map { mebibytes($0.peakRSSKiB) } ?? "")
            }
            lines.append(cells.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The "Data plane" section of docs/BENCHMARKS.md (starts with its `## ` heading).
    public func markdown() -> String {
        var out = "## Data plane\n\n"
        out += "Measured \(date) on \(machine) with `\(command)`.\n"
        for note in notes { out += "- \(note)\n" }
        out += "\n"
        out += "### Latency added over the baseline at \(format(latency.first?.requestedQPS, digits: 0)) QPS (ms, open loop, from each request's intended send time)\n\n"
        let cs = concurrencies
        out += "| mode | " + cs.map { "c=\($0) P50 / P99 / P999" }.joined(separator: " | ") + " |\n"
        out += "|---|" + String(repeating: "---|", count: cs.count) + "\n"
        for mode in modes where mode != .baseline {
            let cells = cs.map { c -> String in
                let p50 = added(mode, connections: c, \.p50).map { signed($0 / 1000) } ?? "–"
                let p99 = added(mode, connections: c, \.p99).map { signed($0 / 1000) } ?? "–"
                let p999 = added(mode, connections: c, \.p999).map { signed($0 / 1000) } ?? "–"
                return "\(p50) / \(p99) / \(p999)"
            }
            out += "| \(mode.title) | " + cells.joined(separator: " | ") + " |\n"
        }
        out += "\n### Every open-loop run (latency in ms; proxy CPU in average millicores; peak RSS in MiB)\n\n"
        out += Self.openLoopTable(latency)
        out += Self.stallTable(latency)
        out += "\n### Proxy resources over all open-loop runs of a mode\n\n"
        out += "| mode | CPU ms per 1000 requests (all proxies of the path) | peak RSS client MiB | peak RSS server MiB |\n|---|---|---|---|\n"
        for mode in modes where mode != .baseline {
            out += "| \(mode.title) | \(format(cpuPer1000Requests(mode), digits: 1)) | \(peakRSSKiB(mode, side: "client").map(mebibytes) ?? "–") | \(peakRSSKiB(mode, side: "server").map(mebibytes) ?? "–") |\n"
        }
        if !throughput.isEmpty {
            out += "\n### Closed loop, maximum throughput (one proxy unless noted)\n\n"
            out += Self.throughputTable(throughput)
        }
        if !crossCheck.isEmpty {
            out += "\n### Load generator cross-check against wrk (same target, closed loop)\n\n"
            out += Self.throughputTable(crossCheck)
        }
        out += "\n### Targets of issue 4 (ratios from this run)\n\n| target | measured | met |\n|---|---|---|\n"
        for check in targetChecks() {
            out += "| \(check.target) | \(check.measured) | \(check.met.map { $0 ? "yes" : "**no**" } ?? "not measured") |\n"
        }
        out += "\n### Goals of issue 11: the sidecar's cost (ratios from this run)\n\n| goal | measured | met |\n|---|---|---|\n"
        for check in sidecarCostChecks() {
            out += "| \(check.target) | \(check.measured) | \(check.met.map { $0 ? "yes" : "**no**" } ?? (check.target.contains("no goal") ? "–" : "not measured")) |\n"
        }
        return out
    }

    /// Every open-loop run, mode by mode, with both proxies' CPU and peak memory.
    static func openLoopTable<Mode>(_ latency: [ModeLatencyRun<Mode>]) -> String {
        var out = "| mode | c | req/s | P50 | P90 | P99 | P999 | errors | late sends | CPU client | CPU server | RSS client | RSS server |\n"
        out += "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        for mode in latency.modes {
            for run in latency where run.mode == mode {
                out += "| \(mode.rawValue) | \(run.connections) | \(format(run.actualQPS, digits: 0)) | \(milliseconds(run.p50)) | \(milliseconds(run.p90)) | \(milliseconds(run.p99)) | \(milliseconds(run.p999)) | \(run.errors) | \(run.lateSends) | "
                out += "\(run.milliCores("client").map { format($0, digits: 0) } ?? "–") | \(run.milliCores("server").map { format($0, digits: 0) } ?? "–") | "
                out += "\(run.proxy("client").map { mebibytes($0.peakRSSKiB) } ?? "–") | \(run.proxy("server").map { mebibytes($0.peakRSSKiB) } ?? "–") |\n"
            }
        }
        return out
    }

    /// Our sidecars' event-loop stalls in each open-loop run (empty when no run has them), beside
    /// the run's request P99, so that a tail that came from a busy loop shows as stalls of its size.
    static func stallTable<Mode>(_ latency: [ModeLatencyRun<Mode>]) -> String {
        let rows = latency.flatMap { run in run.proxies.compactMap { proxy in proxy.stalls.map { (run, proxy.side, $0) } } }
        guard !rows.isEmpty else { return "" }
        var out = "\n### Event-loop stalls of our sidecars (µs: upper bounds of power-of-two buckets; from each iteration's first read to its end)\n\n"
        out += "| mode | c | sidecar | iterations with reads | P50 | P99 | P999 | longest | request P99 ms |\n|---|---|---|---|---|---|---|---|---|\n"
        for (run, side, stalls) in rows {
            func bound(_ value: UInt64) -> String { value == .max ? "> 1 s" : "≤ \(value)" }
            out += "| \(run.mode.rawValue) | \(run.connections) | \(side) | \(stalls.count) | \(bound(stalls.p50)) | \(bound(stalls.p99)) | \(bound(stalls.p999)) | \(bound(stalls.max)) | \(milliseconds(run.p99)) |\n"
        }
        return out
    }

    static func throughputTable<Mode>(_ runs: [ModeThroughputRun<Mode>]) -> String {
        var out = "| mode | tool | c | seconds | req/s | errors | P50 ms | P99 ms | proxy cores | req/s per proxy core |\n|---|---|---|---|---|---|---|---|---|---|\n"
        for run in runs {
            out += "| \(run.mode.rawValue) | \(run.tool) | \(run.connections) | \(format(run.durationSeconds, digits: 1)) | \(format(run.requestsPerSecond, digits: 0)) | \(run.errors) | \(milliseconds(run.p50)) | \(milliseconds(run.p99)) | \(format(run.proxyCores, digits: 2)) | \(format(run.requestsPerSecondPerCore, digits: 0)) |\n"
        }
        return out
    }

    /// Replaces the section of a BENCHMARKS.md text that `section`'s first line (its `## ` heading)
    /// names, up to the next `## ` heading, or appends it when there is none; the other sections
    /// stay as they are.
    public static func splice(section: String, into document: String) -> String {
        var lines = document.components(separatedBy: "\n")
        let body = section.hasSuffix("\n") ? String(section.dropLast()) : section
        let heading = body.prefix { $0 != "\n" }.trimmingCharacters(in: .whitespaces)
        if let start = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == heading }) {
            let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("## ") } ?? lines.endIndex
            // The trailing "" keeps a blank line before the next heading, or the final newline.
            let replacement = body.components(separatedBy: "\n") + [""]
            lines.replaceSubrange(start..<end, with: replacement)
            return lines.joined(separator: "\n")
        }
        var text = document
        if !text.hasSuffix("\n") { text += "\n" }
        return text + "\n" + body + "\n"
    }
}

/// Milliseconds with an explicit sign: added latency can come out negative (noise).
func signed(_ milliseconds: Double) -> String {
    (milliseconds < 0 ? "" : "+") + format(milliseconds, digits: 3)
}
