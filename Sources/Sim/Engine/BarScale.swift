import Foundation

/// Bar lengths for values that may span orders of magnitude (latency percentiles: a 2.9 ms P50
/// beside a 2.8 s max). Linear while the largest value is at most `logThreshold` times the
/// smallest positive one; logarithmic beyond, from half the smallest positive value, so that every
/// positive value keeps a visible bar and their order.
public struct BarScale: Sendable {
    public static let logThreshold = 20.0

    public let length: Double
    public let isLogarithmic: Bool
    private let floor: Double
    private let largest: Double

    /// `length`: the longest bar.
    public init(values: [Double], length: Double) {
        self.length = length
        let positive = values.filter { $0 > 0 && $0.isFinite }
        largest = positive.max() ?? 0
        let smallest = positive.min() ?? 0
        isLogarithmic = smallest > 0 && largest / smallest > Self.logThreshold
        floor = smallest / 2
    }

    /// The bar for `value`: 0 for nothing, at least 1 for any positive value.
    public func bar(_ value: Double) -> Double {
        guard value > 0, value.isFinite, largest > 0 else { return 0 }
        let fraction = isLogarithmic ? log(value / floor) / log(largest / floor) : value / largest
        return max(1, length * fraction)
    }
}
