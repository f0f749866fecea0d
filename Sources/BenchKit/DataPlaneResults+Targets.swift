import Foundation

/// One target of issue 4, evaluated on figures measured in the same run.
public struct TargetCheck: Sendable, Equatable {
    public var target: String
    public var measured: String
    /// nil when a figure it needs is missing from the run.
    public var met: Bool?
}

extension DataPlaneResults {
    /// The data-plane targets of issue 4. Our two-sidecar path is judged plain against the plain
    /// Envoy and HAProxy hops (like for like); the mTLS path is reported beside it.
    public func targetChecks() -> [TargetCheck] {
        var checks: [TargetCheck] = []
        for ours in [DataPlaneMode.oursBoth, .oursBothMTLS] where modes.contains(ours) {
            for (name, path) in [("P50", \LatencyRun.p50), ("P99", \LatencyRun.p99)] {
                var envoyRatios: [String] = []
                var haproxyRatios: [String] = []
                var envoyMet: Bool? = true
                var haproxyMet: Bool? = true
                for connections in concurrencies {
                    let mine = added(ours, connections: connections, path)
                    let envoy = added(.envoy2, connections: connections, path)
                    let haproxy = added(.haproxy2, connections: connections, path)
                    envoyRatios.append("c\(connections) \(ratioText(mine, envoy))")
                    haproxyRatios.append("c\(connections) \(ratioText(mine, haproxy))")
                    envoyMet = combine(envoyMet, mine.flatMap { m in envoy.map { m < $0 } })
                    haproxyMet = combine(haproxyMet, mine.flatMap { m in haproxy.map { m <= 1.2 * max($0, 0) } })
                }
                checks.append(TargetCheck(target: "\(ours.rawValue) added \(name) < envoy-2hop added \(name) (ratio < 1)", measured: envoyRatios.joined(separator: ", "), met: envoyMet))
                checks.append(TargetCheck(target: "\(ours.rawValue) added \(name) ≤ 1.2 × haproxy-2hop added \(name)", measured: haproxyRatios.joined(separator: ", "), met: haproxyMet))
            }
        }
        checks += observabilityCostChecks()
        let ours = throughput.first { $0.mode == .oursClient && $0.tool == "bench" }
        let envoy = throughput.first { $0.mode == .envoy1 && $0.tool == "bench" }
        let haproxy = throughput.first { $0.mode == .haproxy1 && $0.tool == "bench" }
        let mine = ours?.requestsPerSecondPerCore
        checks.append(TargetCheck(target: "closed-loop req/s per proxy core: ours > Envoy", measured: "ratio \(ratioText(mine, envoy?.requestsPerSecondPerCore))", met: mine.flatMap { m in envoy?.requestsPerSecondPerCore.map { m > $0 } }))
        checks.append(TargetCheck(target: "closed-loop req/s per proxy core: ours ≥ 0.7 × HAProxy", measured: "ratio \(ratioText(mine, haproxy?.requestsPerSecondPerCore))", met: mine.flatMap { m in haproxy?.requestsPerSecondPerCore.map { m >= 0.7 * $0 } }))

        let oursRSS = peakRSSKiB(.oursClient, side: "client")
        let envoyRSS = peakRSSKiB(.envoy1, side: "client")
        checks.append(TargetCheck(target: "our sidecar peak RSS at 1000 QPS < 30 MB", measured: oursRSS.map { mebibytes($0) + " MiB" } ?? "–", met: oursRSS.map { Double($0) * 1024 < 30_000_000 }))
        checks.append(TargetCheck(target: "our sidecar peak RSS < 0.5 × Envoy's", measured: "ratio \(ratioText(oursRSS.map(Double.init), envoyRSS.map(Double.init)))", met: oursRSS.flatMap { o in envoyRSS.map { Double(o) < 0.5 * Double($0) } }))
        let oursCPU = cpuPer1000Requests(.oursClient)
        let envoyCPU = cpuPer1000Requests(.envoy1)
        checks.append(TargetCheck(target: "CPU ms per 1000 requests at 1000 QPS: ours < Envoy (one proxy)", measured: "\(format(oursCPU)) vs \(format(envoyCPU)) ms, ratio \(ratioText(oursCPU, envoyCPU))", met: oursCPU.flatMap { o in envoyCPU.map { o < $0 } }))
        return checks
    }

    /// Issue 13's budget for access logs and tracing: with either on, the two-sidecar path's added
    /// P50 rises by less than 10% and its CPU per 1000 requests by less than 20%, against the same
    /// path with both off, in the same run.
    public func observabilityCostChecks() -> [TargetCheck] {
        let off = DataPlaneMode.oursBothMTLS
        guard modes.contains(off) else { return [] }
        return [DataPlaneMode.oursBothMTLSLogged, .oursBothMTLSTraced].filter(modes.contains).flatMap { on in
            var ratios: [String] = []
            var met: Bool? = true
            for connections in concurrencies {
                let observed = added(on, connections: connections, \.p50)
                let plain = added(off, connections: connections, \.p50)
                ratios.append("c\(connections) \(ratioText(observed, plain))")
                met = combine(met, observed.flatMap { l in plain.map { l < 1.1 * max($0, 1) } })
            }
            let cpuOn = cpuPer1000Requests(on), cpuOff = cpuPer1000Requests(off)
            return [
                TargetCheck(target: "\(on.rawValue) added P50 < 1.1 × \(off.rawValue) added P50", measured: ratios.joined(separator: ", "), met: met),
                TargetCheck(target: "\(on.rawValue) CPU ms per 1000 requests < 1.2 × \(off.rawValue)",
                            measured: "\(format(cpuOn)) vs \(format(cpuOff)) ms, ratio \(ratioText(cpuOn, cpuOff))",
                            met: cpuOn.flatMap { o in cpuOff.map { o < 1.2 * $0 } }),
            ]
        }
    }

    /// Largest VmHWM of one proxy over the mode's open-loop runs.
    public func peakRSSKiB(_ mode: DataPlaneMode, side: String) -> Int? { latency.peakRSSKiB(mode, side: side) }

    /// CPU ms per 1000 requests of the mode's proxies over all its open-loop runs.
    public func cpuPer1000Requests(_ mode: DataPlaneMode) -> Double? { latency.cpuPer1000Requests(mode) }

}

/// Every check so far holds (false once one fails; nil once a figure is missing).
func combine(_ soFar: Bool?, _ next: Bool?) -> Bool? {
    guard let soFar, let next else { return nil }
    return soFar && next
}

func ratioText(_ numerator: Double?, _ denominator: Double?) -> String {
    guard let numerator, let denominator else { return "–" }
    guard denominator > 0 else { return "n/a (denominator ≤ 0)" }
    return format(numerator / denominator, digits: 2)
}

func format(_ value: Double?, digits: Int = 1) -> String {
    guard let value, value.isFinite else { return "–" }
    return String(format: "%.\(digits)f", value)
}

func mebibytes(_ kibibytes: Int) -> String { format(Double(kibibytes) / 1024, digits: 1) }

func milliseconds(_ microseconds: UInt64) -> String { format(Double(microseconds) / 1000, digits: 3) }
