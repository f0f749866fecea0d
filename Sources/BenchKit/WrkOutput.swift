import Foundation

/// The figures of `wrk --latency` output: Requests/sec, the 50% and 99% lines, errors.
public struct WrkOutput: Sendable, Equatable {
    public var requestsPerSecond: Double
    /// Microseconds.
    public var p50: UInt64
    public var p99: UInt64
    public var errors: Int

    public init(requestsPerSecond: Double, p50: UInt64, p99: UInt64, errors: Int) {
        self.requestsPerSecond = requestsPerSecond
        self.p50 = p50
        self.p99 = p99
        self.errors = errors
    }

    public init?(_ text: String) {
        var rate: Double?
        var p50: UInt64?
        var p99: UInt64?
        var errors = 0
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if line.hasPrefix("Requests/sec:"), fields.count > 1 { rate = Double(fields[1]) }
            if fields.count == 2, fields[0] == "50%" { p50 = Self.microseconds(fields[1]) }
            if fields.count == 2, fields[0] == "99%" { p99 = Self.microseconds(fields[1]) }
            if line.hasPrefix("Non-2xx or 3xx responses:"), let count = fields.last.flatMap({ Int($0) }) { errors += count }
            if line.hasPrefix("Socket errors:") {
                // Socket errors: connect 0, read 0, write 0, timeout 0
                errors += line.split(whereSeparator: { $0 == "," || $0 == " " }).compactMap { Int($0) }.reduce(0, +)
            }
        }
        guard let rate, let p50, let p99 else { return nil }
        self.requestsPerSecond = rate
        self.p50 = p50
        self.p99 = p99
        self.errors = errors
    }

    /// "812.00us", "1.23ms", "2.00s" → microseconds.
    public static func microseconds(_ text: Substring) -> UInt64? {
        for (suffix, scale) in [("us", 1.0), ("ms", 1000.0), ("s", 1_000_000.0)] where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)) else { return nil }
            return UInt64((value * scale).rounded())
        }
        return nil
    }
}
