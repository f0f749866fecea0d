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

    /// Parses `250us`, `1.5ms`, `3s`, `2m`, `1h`, and Go-style sums such as `1m30s`. Returns nil when malformed.
    public init?(parsing text: String) {
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        var rest = Substring(text.trimmingCharacters(in: " "))
        guard !rest.isEmpty else { return nil }
        if rest == "0" { self = .zero; return }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix(while: { $0.isNumber || $0 == "." })
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            // Longest unit first so that "ms" is not read as "m".
            guard let unit = units.sorted(by: { $0.0.count > $1.0.count }).first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(unit.0.count)
            total += value * unit.1
        }
        self.nanoseconds = Int64(total.rounded())
    }

    /// The shortest exact form: `250us`, `1.5ms`, `30s`.
    public var description: String {
        let n = nanoseconds
        if n == 0 { return "0s" }
        for (unit, size) in [("h", Int64(3600_000_000_000)), ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)] where n % size == 0 {
            return "\(n / size)\(unit)"
        }
        if n >= 1_000_000 { return "\(formatTrimmed(Double(n) / 1e6))ms" }
        if n >= 1_000 { return "\(formatTrimmed(Double(n) / 1e3))us" }
        return "\(n)ns"
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

/// Formats with up to three decimals and no trailing zeros, without Foundation.
func formatTrimmed(_ value: Double) -> String {
    let scaled = (value * 1000).rounded()
    let whole = Int64(scaled) / 1000
    var frac = abs(Int64(scaled) % 1000)
    if frac == 0 { return "\(whole)" }
    var digits = 3
    while frac % 10 == 0 { frac /= 10; digits -= 1 }
    var fracText = String(frac)
    while fracText.count < digits { fracText = "0" + fracText }
    return "\(whole).\(fracText)"
}
