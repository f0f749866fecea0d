import MeshModel

/// `sim FILE --seeds ...`: one scenario run once per seed (each in its own process), merged.
///
/// A pure function of the runs (sorted by seed), so the merged report does not depend on how
/// many processes ran at once or in which order they finished.
public struct SwarmReport: Sendable {
    /// What one seed's `sim` process came to.
    public struct Run: Sendable {
        public var seed: UInt64
        /// The process's exit status (0-3, as a single `sim` run's); negative: killed by that signal.
        public var exitStatus: Int32
        /// Its JSON report, nil when it wrote none (or one that does not parse).
        public var report: JSONValue?
        /// What it printed on standard error, trimmed.
        public var message: String

        public init(seed: UInt64, exitStatus: Int32, report: JSONValue?, message: String) {
            self.seed = seed
            self.exitStatus = exitStatus
            self.report = report
            self.message = message
        }
    }

    public enum Outcome: String, Sendable, CaseIterable {
        case passed, failed, stopped, nondeterministic, error
    }

    public var scenario: String
    public var runs: [Run]

    public init(scenario: String, runs: [Run]) {
        self.scenario = scenario
        self.runs = runs.sorted { $0.seed < $1.seed }
    }

    /// Exit status 0 with a report that passed; 1: an expectation failed; 2 with a report: the
    /// run hit a bound of the simulator (`stopped`); 3: `--check-determinism` found two reports
    /// that differ; anything else (no report, a signal) is an error of the run itself.
    public static func outcome(of run: Run) -> Outcome {
        switch run.exitStatus {
        case 0 where run.report?["passed"] == .bool(true): .passed
        case 1 where run.report != nil: .failed
        case 2 where run.report?["stopped"] != nil: .stopped
        case 3: .nondeterministic
        default: .error
        }
    }

    public var passed: Bool { runs.allSatisfy { Self.outcome(of: $0) == .passed } }

    /// As one run's would be: 3 if a seed was not deterministic, else 2 if a seed stopped or
    /// could not run, else 1 if an expectation failed for a seed, else 0.
    public var exitStatus: Int32 {
        let outcomes = Set(runs.map(Self.outcome))
        if outcomes.contains(.nondeterministic) { return 3 }
        if outcomes.contains(.stopped) || outcomes.contains(.error) { return 2 }
        return outcomes.contains(.failed) ? 1 : 0
    }

    /// The expectations that did not hold in a run's report, as `expect: observed`.
    public static func failingExpectations(of run: Run) -> [(expect: String, observed: String)] {
        guard case .array(let items)? = run.report?["expectations"] else { return [] }
        return items.compactMap { item in
            guard item["passed"] == .bool(false), case .string(let expect)? = item["expect"] else { return nil }
            if case .string(let observed)? = item["observed"] { return (expect, observed) }
            return (expect, "")
        }
    }

    /// `[1, 2, 3, 5, 7, 8]` → `1..3, 5, 7..8`.
    public static func compactList(_ seeds: [UInt64]) -> String {
        var parts: [String] = []
        var index = 0
        while index < seeds.count {
            var end = index
            while end + 1 < seeds.count, seeds[end + 1] == seeds[end] + 1 { end += 1 }
            parts.append(end == index ? "\(seeds[index])" : "\(seeds[index])..\(seeds[end])")
            index = end + 1
        }
        return parts.joined(separator: ", ")
    }
}

extension SwarmReport {
    /// The summary: a table of outcomes with their seeds, then every seed that did not pass with
    /// what went wrong (its failing expectations, or the reason it stopped or could not run).
    public func text() -> String {
        var lines = ["swarm \(scenario): \(runs.count) seed\(runs.count == 1 ? "" : "s"), \(passedCount) passed"]
        lines.append(ReportFormat.pad("result", 17) + ReportFormat.padLeft("seeds", 6) + "  which")
        for outcome in Outcome.allCases {
            let seeds = runs.filter { Self.outcome(of: $0) == outcome }.map(\.seed)
            guard !seeds.isEmpty else { continue }
            lines.append(ReportFormat.pad(outcome.rawValue, 17) + ReportFormat.padLeft(String(seeds.count), 6) + "  " + Self.compactList(seeds))
        }
        let troubled = runs.filter { Self.outcome(of: $0) != .passed }
        if !troubled.isEmpty { lines.append("seeds that did not pass:") }
        for run in troubled {
            let failing = Self.failingExpectations(of: run)
            if failing.isEmpty {
                lines.append("  seed \(run.seed) (\(Self.outcome(of: run).rawValue)): \(Self.reason(of: run))")
            }
            for (expect, observed) in failing {
                lines.append("  seed \(run.seed): \(expect): observed \(observed)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The merged report: counts by outcome, the seeds that did not pass with their failing
    /// expectations, then every seed's own report, in seed order.
    public func json() -> JSONValue {
        let summary: [(String, JSONValue)] = [("seeds", .int(runs.count))] + Outcome.allCases.map { outcome in
            (outcome.rawValue, .int(runs.filter { Self.outcome(of: $0) == outcome }.count))
        }
        let failing: [JSONValue] = runs.filter { Self.outcome(of: $0) != .passed }.map { run in
            var pairs: [(String, JSONValue)] = [
                ("seed", .int(Int64(bitPattern: run.seed))),
                ("result", .string(Self.outcome(of: run).rawValue)),
                ("expectations", .array(Self.failingExpectations(of: run).map { .object([("expect", .string($0.expect)), ("observed", .string($0.observed))]) })),
            ]
            if Self.failingExpectations(of: run).isEmpty { pairs.append(("reason", .string(Self.reason(of: run)))) }
            return .object(pairs)
        }
        let all: [JSONValue] = runs.map { run in
            .object([
                ("seed", .int(Int64(bitPattern: run.seed))),
                ("result", .string(Self.outcome(of: run).rawValue)),
                ("exitStatus", .int(Int(run.exitStatus))),
                ("report", run.report ?? .null),
            ])
        }
        return .object([
            ("scenario", .string(scenario)),
            ("passed", .bool(passed)),
            ("summary", .object(summary)),
            ("failing", .array(failing)),
            ("runs", .array(all)),
        ])
    }

    public func jsonText() -> String {
        json().rendered(pretty: true) + "\n"
    }

    private var passedCount: Int { runs.filter { Self.outcome(of: $0) == .passed }.count }

    /// Why a run without failing expectations did not pass.
    private static func reason(of run: Run) -> String {
        if case .string(let stopped)? = run.report?["stopped"] { return stopped }
        let firstLine = run.message.split(separator: "\n").first.map(String.init)
        if run.exitStatus < 0 { return "killed by signal \(-run.exitStatus)" + (firstLine.map { ": \($0)" } ?? "") }
        return firstLine ?? "exit status \(run.exitStatus) without a report"
    }
}
