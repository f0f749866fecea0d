/// The one line `bench load` prints for a run, read back by the benchmarks that run it as a
/// separate process (`bench capture`, inside a pod's network namespace and cgroup):
/// `requests N errors N late N req/s N p50 Nus p90 Nus p99 Nus p999 Nus`.
public struct LoadSummary: Sendable, Equatable {
    public var requests: Int
    public var errors: Int
    public var lateSends: Int
    public var requestsPerSecond: Int
    /// Microseconds.
    public var p50: Int
    public var p90: Int
    public var p99: Int
    public var p999: Int

    public init(requests: Int, errors: Int, lateSends: Int, requestsPerSecond: Int, p50: Int, p90: Int, p99: Int, p999: Int) {
        self.requests = requests
        self.errors = errors
        self.lateSends = lateSends
        self.requestsPerSecond = requestsPerSecond
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
    }

    /// The last line of `output` that is a summary; nil when there is none.
    public init?(_ output: String) {
        for line in output.split(separator: "\n").reversed() {
            let words = line.split(separator: " ").map(String.init)
            guard words.count == 16, words.first == "requests" else { continue }
            var values: [String: Int] = [:]
            for index in stride(from: 0, to: words.count, by: 2) {
                let text = words[index + 1].hasSuffix("us") ? String(words[index + 1].dropLast(2)) : words[index + 1]
                guard let value = Int(text) else { return nil }
                values[words[index]] = value
            }
            guard let requests = values["requests"], let errors = values["errors"], let late = values["late"], let rate = values["req/s"],
                  let p50 = values["p50"], let p90 = values["p90"], let p99 = values["p99"], let p999 = values["p999"] else { return nil }
            self.init(requests: requests, errors: errors, lateSends: late, requestsPerSecond: rate, p50: p50, p90: p90, p99: p99, p999: p999)
            return
        }
        return nil
    }

    /// The line itself, as `bench load` prints it.
    public var line: String {
        "requests \(requests) errors \(errors) late \(lateSends) req/s \(requestsPerSecond) p50 \(p50)us p90 \(p90)us p99 \(p99)us p999 \(p999)us"
    }
}
