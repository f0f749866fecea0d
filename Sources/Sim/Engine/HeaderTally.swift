/// The values a load saw for the response headers its `headers:` expectations name: per name, how
/// many responses (with a status) carried each value, and how many lacked the header. Only named
/// headers are kept, so a load without such an expectation records nothing. The simulator and the
/// real mode both fill one per load.
public struct HeaderTally: Hashable, Sendable {
    /// Lowercase names, in the order the expectations list them.
    public let names: [String]
    /// Per name: value (nil: absent) → responses.
    private var counts: [[String?: Int]]

    public init(names: [String]) {
        var unique: [String] = []
        for name in names.map({ $0.lowercased() }) where !unique.contains(name) { unique.append(name) }
        self.names = unique
        counts = Array(repeating: [:], count: unique.count)
    }

    /// The names a scenario's `headers:` expectations of `load` ask about.
    public static func names(for load: String, in expectations: [Expectation]) -> [String] {
        expectations.flatMap { expectation -> [String] in
            guard case .headers(load, let values) = expectation.check else { return [] }
            return values.map(\.name)
        }
    }

    /// The names a scenario's `upstreamHeaders:` expectations of `load` ask about.
    public static func upstreamNames(for load: String, in expectations: [Expectation]) -> [String] {
        expectations.flatMap { expectation -> [String] in
            guard case .upstreamHeaders(load, let values) = expectation.check else { return [] }
            return values.map(\.name)
        }
    }

    public var isEmpty: Bool { names.isEmpty }

    /// One response that has a status; `value(name)` looks a header up (case-insensitively).
    public mutating func record(_ value: (String) -> String?) {
        for (index, name) in names.enumerated() { counts[index][value(name), default: 0] += 1 }
    }

    /// As the report lists them: values sorted (absent first).
    public var observations: [HeaderObservation] {
        names.enumerated().map { index, name in
            let values = counts[index].sorted { ($0.key ?? "") < ($1.key ?? "") || ($0.key == nil && $1.key != nil) }
            return HeaderObservation(name: name, values: values.map { (value: $0.key, count: $0.value) })
        }
    }
}

/// One header's values over a load's responses (nil value: the header was absent).
public struct HeaderObservation: Sendable {
    public var name: String
    public var values: [(value: String?, count: Int)]

    public init(name: String, values: [(value: String?, count: Int)]) {
        self.name = name
        self.values = values
    }
}
