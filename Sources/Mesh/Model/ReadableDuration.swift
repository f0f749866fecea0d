/// Durations for people: three significant digits in the largest unit that keeps the number
/// below 1000 (`250us`, `2.90ms`, `13.6s`), then minutes and hours with their seconds and
/// minutes (`1m 05s`, `2h 03m`). Every text summary (`sim`, `sim --real`, `bench`) uses it; JSON
/// reports keep exact values (`MeshDuration.description`, numbers).
public enum ReadableDuration {
    /// `nanoseconds` as text; negative values keep their sign, non-finite ones say so.
    public static func text(nanoseconds: Double) -> String {
        guard nanoseconds.isFinite else { return nanoseconds.isNaN ? "n/a" : (nanoseconds < 0 ? "-inf" : "inf") }
        if nanoseconds < 0 { return "-" + text(nanoseconds: -nanoseconds) }
        if nanoseconds == 0 { return "0s" }
        for (unit, size) in [("ns", 1.0), ("us", 1e3), ("ms", 1e6), ("s", 1e9)] {
            let digits = significant(nanoseconds / size)
            if digits.value < (unit == "s" ? 60 : 1000) { return digits.text + unit }
        }
        let seconds = (nanoseconds / 1e9).rounded()
        if seconds < 3600 { return whole(seconds / 60, "m") + " " + twoDigits(seconds.truncatingRemainder(dividingBy: 60), "s") }
        let minutes = (seconds / 60).rounded()
        return whole(minutes / 60, "h") + " " + twoDigits(minutes.truncatingRemainder(dividingBy: 60), "m")
    }

    public static func text(milliseconds: Double) -> String { text(nanoseconds: milliseconds * 1e6) }

    public static func text(microseconds: Double) -> String { text(nanoseconds: microseconds * 1e3) }

    public static func text(seconds: Double) -> String { text(nanoseconds: seconds * 1e9) }

    /// Three significant digits: `9.70`, `45.0`, `136`; `value` is what the text shows.
    private static func significant(_ value: Double) -> (text: String, value: Double) {
        for decimals in [2, 1, 0] {
            let limit = [2: 10.0, 1: 100.0, 0: .infinity][decimals]!
            let scale = [2: 100.0, 1: 10.0, 0: 1.0][decimals]!
            let rounded = (value * scale).rounded() / scale
            guard rounded < limit else { continue }
            return (fixed(rounded, decimals), rounded)
        }
        return (fixed(value.rounded(), 0), value.rounded())
    }

    private static func fixed(_ value: Double, _ decimals: Int) -> String {
        let scale = [0: 1.0, 1: 10.0, 2: 100.0][decimals]!
        let units = Int64((value * scale).rounded())
        let whole = units / Int64(scale)
        guard decimals > 0 else { return String(whole) }
        let fraction = String(units % Int64(scale))
        return "\(whole)." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }

    private static func whole(_ value: Double, _ unit: String) -> String { String(Int64(value.rounded(.down))) + unit }

    private static func twoDigits(_ value: Double, _ unit: String) -> String {
        let number = Int64(value.rounded(.down))
        return (number < 10 ? "0" : "") + String(number) + unit
    }
}

extension MeshDuration {
    /// `ReadableDuration` of this duration: `45.0s` where `description` says `45.0009s`.
    public var readable: String { ReadableDuration.text(nanoseconds: Double(nanoseconds)) }
}
