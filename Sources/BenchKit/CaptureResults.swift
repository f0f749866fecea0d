import Foundation

/// The ways app traffic reaches the sidecars in `bench capture`, the baseline first.
public enum CaptureBenchMode: String, CaseIterable, Sendable {
    case direct, local, iptables, ebpf
    case ebpfNoSockmap = "ebpf-no-sockmap"

    public var title: String {
        switch self {
        case .direct: "no sidecar (app → upstream)"
        case .local: "local mode (app → its sidecar's 15001)"
        case .iptables: "iptables capture"
        case .ebpf: "eBPF capture, sockmap shortcut on"
        case .ebpfNoSockmap: "eBPF capture, sockmap shortcut off"
        }
    }
}

/// One mode at one concurrency: what the load saw and what the two sidecars spent.
public struct CaptureRun: Sendable, Equatable {
    public var mode: CaptureBenchMode
    public var connections: Int
    public var summary: LoadSummary
    /// utime + stime of both sidecars over the run; nil without sidecars.
    public var sidecarCPUSeconds: Double?

    public init(mode: CaptureBenchMode, connections: Int, summary: LoadSummary, sidecarCPUSeconds: Double?) {
        self.mode = mode
        self.connections = connections
        self.summary = summary
        self.sidecarCPUSeconds = sidecarCPUSeconds
    }

    /// Sidecar CPU milliseconds per 1000 requests (both sidecars).
    public var cpuMillisecondsPer1000Requests: Double? {
        guard let seconds = sidecarCPUSeconds, summary.requests > 0 else { return nil }
        return seconds * 1_000_000 / Double(summary.requests)
    }
}

/// The "Traffic capture" section of docs/BENCHMARKS.md.
public struct CaptureReport: Sendable {
    public var command: String
    public var date: String
    public var machine: String
    public var runs: [CaptureRun]
    /// The interceptors' counters at their stop, by mode.
    public var counters: [CaptureBenchMode: String]

    public init(command: String, date: String, machine: String, runs: [CaptureRun], counters: [CaptureBenchMode: String]) {
        self.command = command
        self.date = date
        self.machine = machine
        self.runs = runs
        self.counters = counters
    }

    /// What the mode adds over the direct run at the same concurrency, microseconds.
    public func added(_ run: CaptureRun, _ percentile: KeyPath<LoadSummary, Int>) -> Int? {
        guard let base = runs.first(where: { $0.mode == .direct && $0.connections == run.connections }) else { return nil }
        return run.summary[keyPath: percentile] - base.summary[keyPath: percentile]
    }

    public func markdown() -> String {
        var lines = [
            "`\(command)` on \(date), \(machine). The app (`bench load`, open loop, 1 KiB responses) and the upstream each run",
            "in their own pod (network namespace + cgroup v2, a veth pair between them); both sidecars plaintext. Latency in µs;",
            "added = this mode minus no sidecar at the same concurrency; CPU = both sidecars' user + system time per 1000 requests.",
            "",
            "| mode | c | req/s | p50 | p99 | added p50 | added p99 | sidecar CPU ms / 1000 req | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for run in runs.sorted(by: { ($0.connections, CaptureBenchMode.allCases.firstIndex(of: $0.mode)!) < ($1.connections, CaptureBenchMode.allCases.firstIndex(of: $1.mode)!) }) {
            let cpu = run.cpuMillisecondsPer1000Requests.map { String(format: "%.0f", $0) } ?? "–"
            let addedP50 = run.mode == .direct ? "–" : added(run, \.p50).map(String.init) ?? "–"
            let addedP99 = run.mode == .direct ? "–" : added(run, \.p99).map(String.init) ?? "–"
            lines.append("| \(run.mode.title) | \(run.connections) | \(run.summary.requestsPerSecond) | \(run.summary.p50) | \(run.summary.p99) | \(addedP50) | \(addedP99) | \(cpu) | \(run.summary.errors) |")
        }
        if !counters.isEmpty {
            lines += ["", "The interceptors' counters at the end of the run (`messages_redirected`: sends the sockmap shortcut delivered):", ""]
            for mode in CaptureBenchMode.allCases {
                if let line = counters[mode] { lines.append("- \(mode.title): `\(line)`") }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
