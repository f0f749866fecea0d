/// How long to wait before the next try after a failure, as client-go's reflector does it:
/// exponential from `initial` by `factor` up to `maximum`, plus up to `jitter` times that delay
/// at random (so that many clients do not reconnect in step after an API-server restart), and back
/// to `initial` once a try succeeds. The random source is the caller's.
public struct ReconnectBackoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var factor: Double
    /// 0 (none) to 1 (up to double the delay).
    public var jitter: Double
    /// Failures since the last success.
    public private(set) var failures = 0

    /// client-go's reflector defaults: 800 ms doubling to 30 s, jitter 1.
    public init(initial: Duration = .milliseconds(800), maximum: Duration = .seconds(30), factor: Double = 2, jitter: Double = 1) {
        self.initial = initial
        self.maximum = maximum
        self.factor = max(1, factor)
        self.jitter = min(1, max(0, jitter))
    }

    /// Records a failure and returns the wait before the next try.
    public mutating func nextDelay(using generator: inout some RandomNumberGenerator) -> Duration {
        let base = min(Self.seconds(initial) * pow(factor, failures), Self.seconds(maximum))
        failures += 1
        let spread = jitter > 0 ? Double.random(in: 0..<1, using: &generator) * jitter * base : 0
        return .nanoseconds(Int64((base + spread) * 1e9))
    }

    /// A try succeeded: the next failure waits `initial` again.
    public mutating func reset() {
        failures = 0
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// `factor^exponent` without Foundation (exponents are small).
    private func pow(_ base: Double, _ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<min(exponent, 64) {
            result *= base
            if result > 1e12 { break }
        }
        return result
    }
}
