import MeshModel

/// A finished run together with the verdict on its expectations: what every report format renders.
///
/// The three renderings (`text()`, `json()`, `html()`) are pure functions of the result, so the same
/// seed and scenario give the same bytes.
public struct Report: Sendable {
    public var result: SimulationResult
    public var outcomes: [ExpectationOutcome]

    public init(result: SimulationResult) {
        self.result = result
        self.outcomes = ExpectationChecker.check(result)
    }

    public init(result: SimulationResult, outcomes: [ExpectationOutcome]) {
        self.result = result
        self.outcomes = outcomes
    }

    /// The run ended by itself and every expectation held.
    public var passed: Bool { result.stopped == nil && ExpectationChecker.allPassed(outcomes) }
}

/// Number formatting shared by the reports, independent of locale and platform.
enum ReportFormat {
    /// `value` with exactly `decimals` digits after the point (half away from zero).
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return String(value) }
        let units = Int64(scaled)
        let divisor = Int64(scale)
        let whole = units / divisor
        var text = (value < 0 && units != 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            var fraction = String(units % divisor)
            while fraction.count < decimals { fraction = "0" + fraction }
            text += "." + fraction
        }
        return text
    }

    /// Rounds to three decimals, as the JSON report stores latencies and CPU times.
    static func rounded3(_ value: Double) -> Double {
        guard value.isFinite else { return 0 }
        return (value * 1000).rounded() / 1000
    }

    /// `0.4735` → `47.4%`.
    static func percent(_ fraction: Double) -> String { fixed(fraction * 100, 1) + "%" }

    /// Milliseconds for people, three significant digits in a fitting unit: `1.25ms`, `13.6s`.
    static func milliseconds(_ value: Double) -> String { ReadableDuration.text(milliseconds: value) }

    /// Milliseconds with three decimals, `1.250ms`: what the JSON report's expectation texts
    /// keep (exact, so that reports compare byte for byte).
    static func exactMilliseconds(_ value: Double) -> String { fixed(value, 3) + "ms" }

    /// `1 request`, `2 requests`.
    static func count(_ number: Int, _ noun: String) -> String { "\(number) \(noun)\(number == 1 ? "" : "s")" }

    /// `1048576` → `1.0 MiB`.
    static func bytes(_ count: Int) -> String {
        if count < 1024 { return "\(count) B" }
        if count < 1024 * 1024 { return fixed(Double(count) / 1024, 1) + " KiB" }
        return fixed(Double(count) / (1024 * 1024), 1) + " MiB"
    }

    /// Pads on the right to `width` characters.
    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// Pads on the left to `width` characters.
    static func padLeft(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
