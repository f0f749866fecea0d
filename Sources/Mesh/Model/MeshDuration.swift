/// A span of time in nanoseconds. The mesh's own type so that the engine, the controller and the
/// simulator share one notion of time without reading any clock.
public struct MeshDuration: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = MeshDuration(nanoseconds: 0)
    public static func microseconds(_ n: Int64) -> MeshDuration { MeshDuration(nanoseconds: n * 1_000) }
    public static func milliseconds(_ n: Int64) -> MeshDuration { MeshDuration(nanoseconds: n * 1_000_000) }
    public static func seconds(_ n: Int64) -> MeshDuration { MeshDuration(nanoseconds: n * 1_000_000_000) }
    public static func minutes(_ n: Int64) -> MeshDuration { .seconds(n * 60) }
    public static func hours(_ n: Int64) -> MeshDuration { .seconds(n * 3600) }

    public static func < (a: MeshDuration, b: MeshDuration) -> Bool { a.nanoseconds < b.nanoseconds }
    public static func + (a: MeshDuration, b: MeshDuration) -> MeshDuration { MeshDuration(nanoseconds: a.nanoseconds + b.nanoseconds) }
    public static func - (a: MeshDuration, b: MeshDuration) -> MeshDuration { MeshDuration(nanoseconds: a.nanoseconds - b.nanoseconds) }
    public static func * (a: MeshDuration, k: Int64) -> MeshDuration { MeshDuration(nanoseconds: a.nanoseconds * k) }

    public var milliseconds: Double { Double(nanoseconds) / 1_000_000 }
    public var seconds: Double { Double(nanoseconds) / 1_000_000_000 }

    /// Parses `250us`, `1.5ms`, `3s`, `2m`, `1h`, and Go-style sums such as `1m30s`. Returns nil when
    /// malformed, negative or too large for 64-bit nanoseconds (about 292 years).
    public init?(parsing text: String) {
        var rest = Substring(text.trimmingCharacters(in: " "))
        guard !rest.isEmpty else { return nil }
        if rest == "0" { self = .zero; return }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix(while: { ("0"..."9").contains($0) || $0 == "." })
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            // Longest unit first so that "ms" is not read as "m".
            guard let unit = MeshDuration.units.first(where: { rest.hasPrefix($0.name) }) else { return nil }
            rest = rest.dropFirst(unit.name.count)
            total += value * unit.nanoseconds
        }
        // Int64.max as a Double rounds up to 2^63, so the bound must be strict.
        guard total < 9.2e18 else { return nil }
        self.nanoseconds = Int64(total.rounded())
    }

    /// Units by decreasing name length; the micro sign and the Greek mu both spell microseconds, as in Go.
    private static let units: [(name: String, nanoseconds: Double)] = [
        ("ns", 1), ("us", 1e3), ("\u{00B5}s", 1e3), ("\u{03BC}s", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
    ].sorted { $0.0.count > $1.0.count }

    /// The shortest exact form: `250us`, `1.5ms`, `30s`, `2m`, `1h`. Hours and minutes print only
    /// when whole; seconds, milliseconds and microseconds take up to three decimals.
    public var description: String {
        if nanoseconds == 0 { return "0s" }
        let sign = nanoseconds < 0 ? "-" : ""
        let n = nanoseconds.magnitude
        for (unit, size) in [("h", UInt64(3600_000_000_000)), ("m", 60_000_000_000)] where n % size == 0 {
            return "\(sign)\(n / size)\(unit)"
        }
        for (unit, size) in [("s", UInt64(1_000_000_000)), ("ms", 1_000_000), ("us", 1_000)] where n >= size && n % (size / 1000) == 0 {
            let whole = n / size
            var fraction = (n % size) / (size / 1000)
            guard fraction > 0 else { return "\(sign)\(whole)\(unit)" }
            var digits = 3
            while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
            let fractionText = String(fraction)
            return "\(sign)\(whole).\(String(repeating: "0", count: digits - fractionText.count))\(fractionText)\(unit)"
        }
        return "\(sign)\(n)ns"
    }
}

private extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
