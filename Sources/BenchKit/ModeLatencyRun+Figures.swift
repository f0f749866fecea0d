/// What the figures below need of an open-loop run, whatever the benchmark's modes.
public protocol OpenLoopRunFigures {
    associatedtype Mode: BenchMode
    var mode: Mode { get }
    var connections: Int { get }
    var requests: Int { get }
    var proxies: [ProxyUsageSample] { get }
}

extension ModeLatencyRun: OpenLoopRunFigures {}

/// The figures every benchmark derives from its open-loop runs (`bench dataplane`, `bench gateway`).
extension Array where Element: OpenLoopRunFigures {
    public var concurrencies: [Int] { Array<Int>(Set(map(\.connections))).sorted() }
    /// The modes measured, in their declared order.
    public var modes: [Element.Mode] { Element.Mode.allCases.filter { mode in contains { $0.mode == mode } } }

    public func run(_ mode: Element.Mode, connections: Int) -> Element? {
        first { $0.mode == mode && $0.connections == connections }
    }

    /// Latency the mode adds over the baseline at one percentile, microseconds (may be negative: noise).
    public func added(_ mode: Element.Mode, connections: Int, _ percentile: KeyPath<Element, UInt64>) -> Double? {
        guard let measured = run(mode, connections: connections), let base = run(.baseline, connections: connections) else { return nil }
        return Double(measured[keyPath: percentile]) - Double(base[keyPath: percentile])
    }

    /// Largest VmHWM of one proxy over the mode's open-loop runs.
    public func peakRSSKiB(_ mode: Element.Mode, side: String) -> Int? {
        filter { $0.mode == mode }.compactMap { run in run.proxies.first { $0.side == side }?.peakRSSKiB }.max()
    }

    /// CPU ms per 1000 requests of the mode's proxies over all its open-loop runs.
    public func cpuPer1000Requests(_ mode: Element.Mode) -> Double? {
        let runs = filter { $0.mode == mode && !$0.proxies.isEmpty }
        let requests = runs.reduce(0) { $0 + $1.requests }
        guard requests > 0 else { return nil }
        let seconds = runs.reduce(0.0) { $0 + $1.proxies.reduce(0) { $0 + $1.cpuSeconds } }
        return seconds * 1000 / Double(requests) * 1000
    }
}
