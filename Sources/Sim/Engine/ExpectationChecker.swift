import MeshModel
import MeshProxy

/// The verdict on one `expect:` entry.
public struct ExpectationOutcome: Hashable, Sendable {
    public var expectation: Expectation
    public var passed: Bool
    /// What the run actually showed, in the same vocabulary as the expectation's text.
    public var observed: String

    public init(expectation: Expectation, passed: Bool, observed: String) {
        self.expectation = expectation
        self.passed = passed
        self.observed = observed
    }
}

/// Judges a run against its scenario's expectations.
///
/// Rules (SCENARIOS.md gives the keys; these are the semantics):
/// - `status` is an exact histogram: every listed code must have exactly its count, and every code
///   the run produced must be listed. Writing `{200: 10}` therefore also asserts "no failures";
///   list a code with 0 to say it must not occur. A partial map would let a regression producing a
///   new status code pass silently, so there is no partial form.
/// - `backends` compares shares of the responses that a Deployment served (responses with no
///   backend, such as refused connections, are not in the denominator). Each listed Deployment must be
///   within `tolerance` of its share, and a Deployment not listed must have at most `tolerance`.
/// - `received` is exact.
/// - `latency` bounds compare the modelled percentile in milliseconds.
/// - `bodies` has the semantics of `backends`, over the responses whose body the run recorded.
/// - An app `counter` reads `AppResult.counters` (summed over the Deployment's pods); a counter the
///   model does not have fails the check.
/// - `headers`: every response that has a status carries the header with exactly that value
///   (null: lacks it); `bodyContains`: every such response's recorded body contains the text.
///   Both fail when no response had a status.
/// - `counter` sums the counter over every pod of the Deployment (`namespace/deployment`), or reads
///   one pod when the name is a pod (`namespace/deployment-0`).
public enum ExpectationChecker {
    public static func check(_ result: SimulationResult) -> [ExpectationOutcome] {
        result.scenario.expectations.map { check($0, in: result) }
    }

    public static func check(_ expectation: Expectation, in result: SimulationResult) -> ExpectationOutcome {
        let (passed, observed) = evaluate(expectation.check, in: result)
        return ExpectationOutcome(expectation: expectation, passed: passed, observed: observed)
    }

    /// True when every outcome passed (an empty list passes).
    public static func allPassed(_ outcomes: [ExpectationOutcome]) -> Bool {
        outcomes.allSatisfy(\.passed)
    }

    /// An exact histogram: every listed code has its count, every other observed code none.
    private static func exactCounts(_ observed: [(code: Int, count: Int)], _ counts: [Int: Int]) -> (Bool, String) {
        let listedHold = counts.allSatisfy { entry in (observed.first { $0.code == entry.key }?.count ?? 0) == entry.value }
        let unlistedAbsent = observed.allSatisfy { counts[$0.code] != nil || $0.count == 0 }
        return (listedHold && unlistedAbsent, "{" + observed.map { "\($0.code): \($0.count)" }.joined(separator: ", ") + "}")
    }

    private static func evaluate(_ check: Expectation.Check, in result: SimulationResult) -> (Bool, String) {
        switch check {
        case .status(let loadName, let counts):
            guard let load = result.loads.first(where: { $0.name == loadName }) else {
                return (false, "no load named \(loadName)")
            }
            return exactCounts(load.status, counts)

        case .grpcStatus(let loadName, let counts):
            guard let load = result.loads.first(where: { $0.name == loadName }) else {
                return (false, "no load named \(loadName)")
            }
            return exactCounts(load.grpcStatus, counts)

        case .backends(let loadName, let shares, let tolerance):
            guard let load = result.loads.first(where: { $0.name == loadName }) else {
                return (false, "no load named \(loadName)")
            }
            return shareCheck(load.backends.map { (label: $0.deployment, count: $0.count) }, expected: shares, tolerance: tolerance, quoted: false)

        case .received(let app, let count):
            let received = result.apps.first(where: { $0.deployment == app })?.received ?? 0
            return (received == count, String(received))

        case .latency(let loadName, let bounds):
            guard let load = result.loads.first(where: { $0.name == loadName }) else {
                return (false, "no load named \(loadName)")
            }
            var passed = load.requests > 0
            var parts: [String] = []
            for bound in bounds {
                guard let value = load.latency.value(of: bound.percentile) else {
                    passed = false
                    parts.append("\(bound.percentile) unknown")
                    continue
                }
                if !bound.comparison.holds(value, bound.bound.milliseconds) { passed = false }
                parts.append("\(bound.percentile) = \(ReportFormat.exactMilliseconds(value))")
            }
            return (passed, parts.joined(separator: ", "))

        case .counter(let proxy, let name, let comparison, let value):
            let pods = result.proxies.filter { ProxyResult.pod($0.pod, belongsTo: proxy) }
            guard !pods.isEmpty else { return (false, "no meshed pod matches \(proxy)") }
            let total = pods.reduce(UInt64(0)) { sum, pod in
                sum + (pod.counters.first(where: { $0.name == name })?.value ?? 0)
            }
            return (comparison.holds(Double(total), value), "\(total) over \(pods.count) pod\(pods.count == 1 ? "" : "s")")

        case .bodies(let loadName, let shares, let tolerance):
            guard let load = result.loads.first(where: { $0.name == loadName }) else {
                return (false, "no load named \(loadName)")
            }
            return shareCheck(load.bodies.map { (label: $0.text, count: $0.count) }, expected: shares, tolerance: tolerance, quoted: true)

        case .appCounter(let appName, let name, let comparison, let value):
            guard let app = result.apps.first(where: { $0.deployment == appName }) else {
                return (false, "no app named \(appName)")
            }
            guard let counter = app.counters.first(where: { $0.name == name }) else {
                let known = app.counters.map(\.name)
                return (false, "\(appName) has no counter \(name)" + (known.isEmpty ? "" : " (counters: \(known.joined(separator: ", ")))"))
            }
            return (comparison.holds(Double(counter.value), value), String(counter.value))

        case .responseFlags(let loadName, let bounds):
            guard let load = result.loads.first(where: { $0.name == loadName }) else {
                return (false, "no load named \(loadName)")
            }
            var passed = true
            for bound in bounds {
                let count = ResponseFlags(parsing: bound.flag).map { load.count(flag: $0) } ?? 0
                if !bound.comparison.holds(Double(count), bound.value) { passed = false }
            }
            let observed = load.responseFlags.map { "\($0.flags): \($0.count)" }.joined(separator: ", ")
            return (passed, observed.isEmpty ? "no flags" : observed)

        case .headers(let loadName, let values):
            guard let load = result.loads.first(where: { $0.name == loadName }) else {
                return (false, "no load named \(loadName)")
            }
            return headerCheck(load, values)

        case .upstreamHeaders(let loadName, let values):
            guard let load = result.loads.first(where: { $0.name == loadName }) else {
                return (false, "no load named \(loadName)")
            }
            return upstreamHeaderCheck(load, values)

        case .bodyContains(let loadName, let text):
            guard let load = result.loads.first(where: { $0.name == loadName }) else {
                return (false, "no load named \(loadName)")
            }
            let answered = load.requests - load.count(status: 0)
            let containing = load.bodies.filter { $0.text.contains(text) }.reduce(0) { $0 + $1.count }
            return (answered > 0 && containing == answered, "\(containing) of \(answered) responses")

        case .trace(let source, let services):
            guard let sample = result.traces?.samples.first(where: { $0.source == source }) else {
                return (false, result.traces == nil ? "tracing is off" : "no traced request of \(source)")
            }
            let seen = Set(sample.spans.map(\.service))
            return (services.allSatisfy(seen.contains), "services " + seen.sorted().joined(separator: ", "))
        }
    }

    /// `headers`: every response that has a status carries each header with exactly its value
    /// (or, for null, lacks it); a load with no such response fails.
    private static func headerCheck(_ load: LoadResult, _ values: [HeaderExpectation]) -> (Bool, String) {
        let answered = load.requests - load.count(status: 0)
        var passed = answered > 0
        var parts: [String] = []
        for expected in values {
            let seen = load.headers.first(where: { $0.name == expected.name })?.values ?? []
            let matching = seen.first(where: { $0.value == expected.value })?.count ?? 0
            if matching != answered { passed = false }
            let shown = seen.map { "\($0.value.map(quote) ?? "absent") ×\($0.count)" }
            parts.append("\(expected.name): " + (shown.isEmpty ? "no responses" : shown.joined(separator: ", ")))
        }
        return (passed, "{" + parts.joined(separator: "; ") + "}")
    }

    /// `upstreamHeaders`: every request of the load an app received carried each header with
    /// exactly its value (or lacked it); a load none of whose requests reached an app fails.
    private static func upstreamHeaderCheck(_ load: LoadResult, _ values: [HeaderExpectation]) -> (Bool, String) {
        var passed = true
        var parts: [String] = []
        for expected in values {
            let seen = load.upstreamHeaders.first(where: { $0.name == expected.name })?.values ?? []
            let received = seen.reduce(0) { $0 + $1.count }
            let matching = seen.first(where: { $0.value == expected.value })?.count ?? 0
            if received == 0 || matching != received { passed = false }
            let shown = seen.map { "\($0.value.map(quote) ?? "absent") ×\($0.count)" }
            parts.append("\(expected.name): " + (shown.isEmpty ? "no requests received" : shown.joined(separator: ", ")))
        }
        return (passed, "{" + parts.joined(separator: "; ") + "}")
    }

    /// `backends` and `bodies`: the share of each label among the counted responses (responses
    /// without a label are not in the denominator). Each listed label must be within `tolerance`
    /// of its share, an unlisted one at most `tolerance`, and at least one response must count.
    private static func shareCheck(_ observed: [(label: String, count: Int)], expected shares: [String: Double], tolerance: Double, quoted: Bool) -> (Bool, String) {
        let total = observed.reduce(0) { $0 + $1.count }
        func share(_ label: String) -> Double {
            total == 0 ? 0 : Double(observed.first(where: { $0.label == label })?.count ?? 0) / Double(total)
        }
        // A small epsilon so that 55/100 against 50% ± 5% passes despite binary rounding.
        let slack = tolerance + 1e-9
        let listedHold = shares.allSatisfy { abs(share($0.key) - $0.value) <= slack }
        let unlistedSmall = observed.allSatisfy { shares[$0.label] != nil || share($0.label) <= slack }
        let parts = observed.map { "\(quoted ? ExpectationChecker.quote($0.label) : $0.label): \(ReportFormat.percent(share($0.label)))" }
        return (total > 0 && listedHold && unlistedSmall, "{" + parts.joined(separator: ", ") + "} of \(total) responses")
    }

    /// A body text in double quotes, with `"` and `\` escaped, as expectation texts show it.
    static func quote(_ text: String) -> String {
        var out = "\""
        for character in text {
            switch character {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out + "\""
    }
}

extension ProxyResult {
    /// Whether `pod` (`namespace/name`) is `selector` itself or one of the pods of Deployment `selector`
    /// (pods are named `<deployment>-<index>`).
    static func pod(_ pod: String, belongsTo selector: String) -> Bool {
        if pod == selector { return true }
        guard pod.hasPrefix(selector + "-") else { return false }
        let suffix = pod.dropFirst(selector.count + 1)
        return !suffix.isEmpty && suffix.allSatisfy(\.isNumber)
    }
}
