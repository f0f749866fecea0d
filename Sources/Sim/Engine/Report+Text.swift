import MeshModel

extension Report {
    /// Buckets shown per load in the summary's "over time" table; longer runs merge neighbours.
    static let maxSummaryRows = 30

    /// The human summary `sim` prints. The first line is `seed: N` so a run can be replayed.
    public func text() -> String {
        var out: [String] = []
        let scenario = result.scenario
        out.append("seed: \(result.seed)")
        out.append("scenario: \(scenario.name)" + (scenario.file.isEmpty ? "" : " (\(scenario.file))"))
        if !scenario.description.isEmpty { out.append("  \(scenario.description)") }
        out.append("virtual time: \(result.virtualTime.readable)  (\(ReportFormat.count(result.eventsProcessed, "event")))")
        out.append("latencies are modelled virtual time, not wall-clock measurements")

        for load in result.loads {
            out.append("")
            out.append("load \(load.name): \(ReportFormat.count(load.requests, "request"))")
            let answered = load.status.reduce(0) { $0 + $1.count }
            if !load.status.isEmpty {
                let parts = load.status.map { entry in
                    "\(Report.statusLabel(entry.code)) \(entry.count) (\(ReportFormat.percent(Report.fraction(entry.count, of: answered))))"
                }
                out.append("  status:   " + parts.joined(separator: ", "))
            }
            let served = load.backends.reduce(0) { $0 + $1.count }
            if !load.backends.isEmpty {
                let parts = load.backends.map { entry in
                    "\(entry.deployment) \(entry.count) (\(ReportFormat.percent(Report.fraction(entry.count, of: served))))"
                }
                out.append("  backends: " + parts.joined(separator: ", "))
            }
            let withBody = load.bodies.reduce(0) { $0 + $1.count }
            if !load.bodies.isEmpty {
                let parts = load.bodies.map { entry in
                    "\(ExpectationChecker.quote(entry.text)) \(entry.count) (\(ReportFormat.percent(Report.fraction(entry.count, of: withBody))))"
                }
                out.append("  bodies:   " + parts.joined(separator: ", "))
            }
            if !load.grpcStatus.isEmpty {
                out.append("  grpc:     " + load.grpcStatus.map { "\($0.code) \($0.count)" }.joined(separator: ", "))
            }
            if let failures = load.tlsFailures {
                out.append("  tls:      \(failures) failed handshake\(failures == 1 ? "" : "s")")
            }
            if !load.responseFlags.isEmpty {
                out.append("  flags:    " + load.responseFlags.map { "\($0.flags) \($0.count)" }.joined(separator: ", "))
            }
            let l = load.latency
            out.append("  latency (modelled): p50 \(ReportFormat.milliseconds(l.p50))  p90 \(ReportFormat.milliseconds(l.p90))  p99 \(ReportFormat.milliseconds(l.p99))  p999 \(ReportFormat.milliseconds(l.p999))  max \(ReportFormat.milliseconds(l.max))")
            out.append(contentsOf: sharesOverTime(load))
        }

        if !result.apps.isEmpty {
            out.append("")
            out.append("apps (requests received, model counters):")
            let width = result.apps.map(\.deployment.count).max() ?? 0
            let receivedWidth = result.apps.map { String($0.received).count }.max() ?? 0
            for app in result.apps {
                let counters = app.counters.map { "\($0.name) \($0.value)" }.joined(separator: ", ")
                let line = "  \(ReportFormat.pad(app.deployment, width))  \(ReportFormat.padLeft(String(app.received), receivedWidth))"
                out.append(counters.isEmpty ? line : line + "  " + counters)
            }
        }

        if !result.proxies.isEmpty {
            out.append("")
            out.append("proxies (modelled cost):")
            let width = result.proxies.map(\.pod.count).max() ?? 0
            for proxy in result.proxies {
                out.append("  \(ReportFormat.pad(proxy.pod, width))  cpu \(ReportFormat.milliseconds(proxy.cpuMs))  memory \(ReportFormat.bytes(proxy.memoryBytes))  config \(proxy.configBytes) B")
            }
        }

        if let traces = result.traces { out.append(contentsOf: tracesText(traces)) }

        if !result.events.isEmpty {
            out.append("")
            out.append("events:")
            for event in result.events {
                out.append("  \(ReportFormat.padLeft(event.at.readable, 8))  \(event.text)")
            }
        }

        if !outcomes.isEmpty {
            out.append("")
            out.append("expectations:")
            for outcome in outcomes {
                let where_ = outcome.expectation.location.map { "  [\($0)]" } ?? ""
                out.append("  \(outcome.passed ? "PASS" : "FAIL")  \(outcome.expectation.text)  (observed: \(outcome.observed))" + (outcome.passed ? "" : where_))
            }
        }

        out.append("")
        let failed = outcomes.filter { !$0.passed }.count
        if let stopped = result.stopped {
            out.append("result: STOPPED (\(stopped))")
        } else if outcomes.isEmpty {
            out.append("result: PASS (no expectations)")
        } else if failed == 0 {
            out.append("result: PASS (\(outcomes.count) of \(outcomes.count) expectations held)")
        } else {
            out.append("result: FAIL (\(failed) of \(outcomes.count) expectations failed)")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// Response shares per phase, the "share per version per phase" of a canary: consecutive
    /// buckets whose shares stay within `phaseThreshold` of the phase's first bucket form one phase.
    /// Only printed when there is something to compare (more than one backend or status code).
    private func sharesOverTime(_ load: LoadResult) -> [String] {
        guard load.buckets.count > 1, load.backends.count > 1 || load.status.count > 1 else { return [] }
        let useBackends = load.backends.count > 1
        let keys: [BucketKey] = useBackends ? load.backends.map { .backend($0.deployment) } : load.status.map { .status($0.code) }
        var groups = Report.phases(load.buckets, width: load.bucketWidth, keys: keys)
        if groups.count > Report.maxSummaryRows {
            groups = Report.groupBuckets(load.buckets, width: load.bucketWidth, maxGroups: Report.maxSummaryRows)
        }
        var lines = ["  shares by \(useBackends ? "backend" : "status") over time:"]
        for group in groups {
            let counts = keys.map { group.count($0) }
            let total = counts.reduce(0, +)
            let parts = zip(keys, counts).map { "\($0.0.label) \(ReportFormat.percent(Report.fraction($0.1, of: total)))" }
            let span = "\(group.start)-\(group.end)"
            lines.append("    \(ReportFormat.padLeft(span, 13))  " + (total == 0 ? "no responses" : parts.joined(separator: ", ") + "  (\(total))"))
        }
        return lines
    }

    /// How far (as a fraction) a bucket's share may drift from its phase's first bucket.
    static let phaseThreshold = 0.1

    enum BucketKey {
        case backend(String)
        case status(Int)

        var label: String {
            switch self {
            case .backend(let name): name
            case .status(let code): Report.statusLabel(code)
            }
        }
    }

    static func phases(_ buckets: [LoadBucket], width: MeshDuration, keys: [BucketKey]) -> [BucketGroup] {
        var groups: [BucketGroup] = []
        var anchor: [Double]? = nil
        for bucket in buckets {
            var single = BucketGroup(start: bucket.start, end: bucket.start + width)
            single.add(bucket)
            let counts = keys.map { single.count($0) }
            let total = counts.reduce(0, +)
            if total == 0, !groups.isEmpty {
                groups[groups.count - 1].absorb(single)
                continue
            }
            let shares = counts.map { fraction($0, of: total) }
            if let current = anchor, !groups.isEmpty, zip(current, shares).allSatisfy({ abs($0 - $1) <= phaseThreshold }) {
                groups[groups.count - 1].absorb(single)
            } else {
                groups.append(single)
                anchor = total == 0 ? nil : shares
            }
        }
        return groups
    }

    static func statusLabel(_ code: Int) -> String { code == 0 ? "failed(0)" : String(code) }

    static func fraction(_ part: Int, of total: Int) -> Double { total == 0 ? 0 : Double(part) / Double(total) }

    /// Consecutive buckets merged so that at most `maxGroups` remain.
    struct BucketGroup {
        var start: MeshDuration
        var end: MeshDuration
        var status: [Int: Int] = [:]
        var backends: [String: Int] = [:]

        mutating func add(_ bucket: LoadBucket) {
            for entry in bucket.status { status[entry.code, default: 0] += entry.count }
            for entry in bucket.backends { backends[entry.deployment, default: 0] += entry.count }
        }

        mutating func absorb(_ other: BucketGroup) {
            end = other.end
            for (code, count) in other.status { status[code, default: 0] += count }
            for (name, count) in other.backends { backends[name, default: 0] += count }
        }

        func count(_ key: BucketKey) -> Int {
            switch key {
            case .backend(let name): backends[name] ?? 0
            case .status(let code): status[code] ?? 0
            }
        }
    }

    static func groupBuckets(_ buckets: [LoadBucket], width: MeshDuration, maxGroups: Int) -> [BucketGroup] {
        let perGroup = max(1, (buckets.count + maxGroups - 1) / maxGroups)
        var groups: [BucketGroup] = []
        var index = 0
        while index < buckets.count {
            let slice = buckets[index..<min(index + perGroup, buckets.count)]
            var group = BucketGroup(start: slice.first!.start, end: slice.last!.start + width)
            for bucket in slice { group.add(bucket) }
            groups.append(group)
            index += perGroup
        }
        return groups
    }
}
