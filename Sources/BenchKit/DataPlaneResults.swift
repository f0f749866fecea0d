/// The paths one benchmark compares (`DataPlaneMode`, `GatewayMode`): named, ordered, with a
/// baseline that reaches the upstream directly.
public protocol BenchMode: RawRepresentable, CaseIterable, Codable, Sendable, Hashable where RawValue == String, AllCases == [Self] {
    static var baseline: Self { get }
    var title: String { get }
}

/// The modes of the data-plane benchmark: the same upstream reached directly, through our
/// sidecar(s), and through Envoy, HAProxy and NGINX in the same positions.
public enum DataPlaneMode: String, BenchMode {
    case baseline
    case oursClient = "ours-client"
    case oursBoth = "ours-both"
    case oursBothMTLS = "ours-both-mtls"
    /// `ours-both-mtls` with both sidecars' access logs on (MeshConfig
    /// `observability.remoteLogging.enable`), written to files: the cost of the log, as a ratio.
    case oursBothMTLSLogged = "ours-both-mtls-logged"
    /// `ours-both-mtls` with tracing on at 100% (MeshConfig `observability.tracing`), the spans
    /// sent to a collector: the cost of tracing, as a ratio.
    case oursBothMTLSTraced = "ours-both-mtls-traced"
    case envoy1 = "envoy-1hop"
    case envoy2 = "envoy-2hop"
    case haproxy1 = "haproxy-1hop"
    case haproxy2 = "haproxy-2hop"
    case nginx1 = "nginx-1hop"
    case nginx2 = "nginx-2hop"

    /// Proxy processes on the path, client side first.
    public var hops: Int {
        switch self {
        case .baseline: 0
        case .oursClient, .envoy1, .haproxy1, .nginx1: 1
        case .oursBoth, .oursBothMTLS, .oursBothMTLSLogged, .oursBothMTLSTraced, .envoy2, .haproxy2, .nginx2: 2
        }
    }

    public var title: String {
        switch self {
        case .baseline: "baseline (client → server)"
        case .oursClient: "ours, client sidecar only"
        case .oursBoth: "ours, both sidecars (plain)"
        case .oursBothMTLS: "ours, both sidecars (mTLS)"
        case .oursBothMTLSLogged: "ours, both sidecars (mTLS, access logs on)"
        case .oursBothMTLSTraced: "ours, both sidecars (mTLS, tracing 100%)"
        case .envoy1: "Envoy 1 hop"
        case .envoy2: "Envoy 2 hops"
        case .haproxy1: "HAProxy 1 hop"
        case .haproxy2: "HAProxy 2 hops"
        case .nginx1: "NGINX 1 hop"
        case .nginx2: "NGINX 2 hops"
        }
    }
}

/// CPU and peak memory of one proxy process over one run.
public struct ProxyUsageSample: Sendable, Equatable, Codable {
    /// "client" for the first proxy on the path, "server" for the second.
    public var side: String
    public var cpuSeconds: Double
    public var peakRSSKiB: Int
    /// Our sidecars' event-loop stalls over the run (from their admin `/stats`); nil for the peers.
    public var stalls: LoopStallSummary?

    public init(side: String, cpuSeconds: Double, peakRSSKiB: Int, stalls: LoopStallSummary? = nil) {
        self.side = side
        self.cpuSeconds = cpuSeconds
        self.peakRSSKiB = peakRSSKiB
        self.stalls = stalls
    }
}

/// One open-loop run of the data-plane benchmark.
public typealias LatencyRun = ModeLatencyRun<DataPlaneMode>
/// One closed-loop run of the data-plane benchmark.
public typealias ThroughputRun = ModeThroughputRun<DataPlaneMode>

/// One open-loop run: a mode at one concurrency and rate. Latencies in microseconds.
public struct ModeLatencyRun<Mode: BenchMode>: Sendable, Equatable, Codable {
    public var mode: Mode
    public var connections: Int
    public var requestedQPS: Double
    public var actualQPS: Double
    public var durationSeconds: Double
    public var requests: Int
    public var errors: Int
    public var lateSends: Int
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var startTime: String
    public var proxies: [ProxyUsageSample]

    public init(mode: Mode, connections: Int, requestedQPS: Double, actualQPS: Double, durationSeconds: Double, requests: Int,
                errors: Int, lateSends: Int, p50: UInt64, p90: UInt64, p99: UInt64, p999: UInt64, startTime: String, proxies: [ProxyUsageSample]) {
        self.mode = mode
        self.connections = connections
        self.requestedQPS = requestedQPS
        self.actualQPS = actualQPS
        self.durationSeconds = durationSeconds
        self.requests = requests
        self.errors = errors
        self.lateSends = lateSends
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.startTime = startTime
        self.proxies = proxies
    }

    public func proxy(_ side: String) -> ProxyUsageSample? { proxies.first { $0.side == side } }

    /// Average millicores of the proxy on `side` over the run (Istio's cpu_mili_avg).
    public func milliCores(_ side: String) -> Double? {
        proxy(side).map { $0.cpuSeconds * 1000 / max(durationSeconds, 1e-9) }
    }

    /// Proxy CPU milliseconds per 1000 requests, all proxies of the path together.
    public var cpuMillisecondsPer1000Requests: Double? {
        guard !proxies.isEmpty, requests > 0 else { return nil }
        return proxies.reduce(0) { $0 + $1.cpuSeconds } * 1000 / Double(requests) * 1000
    }
}

/// One closed-loop (maximum throughput) run through a mode.
public struct ModeThroughputRun<Mode: BenchMode>: Sendable, Equatable, Codable {
    public var mode: Mode
    public var tool: String
    public var connections: Int
    public var durationSeconds: Double
    public var requestsPerSecond: Double
    public var errors: Int
    public var p50: UInt64
    public var p99: UInt64
    /// CPU seconds of the proxy processes on the path, all together.
    public var proxyCPUSeconds: Double?
    /// The largest VmHWM of the path's proxies over the run (nil: not taken).
    public var peakRSSKiB: Int?

    public init(mode: Mode, tool: String, connections: Int, durationSeconds: Double, requestsPerSecond: Double, errors: Int,
                p50: UInt64, p99: UInt64, proxyCPUSeconds: Double?, peakRSSKiB: Int? = nil) {
        self.mode = mode
        self.tool = tool
        self.connections = connections
        self.durationSeconds = durationSeconds
        self.requestsPerSecond = requestsPerSecond
        self.errors = errors
        self.p50 = p50
        self.p99 = p99
        self.proxyCPUSeconds = proxyCPUSeconds
        self.peakRSSKiB = peakRSSKiB
    }

    /// Cores the proxies used on average.
    public var proxyCores: Double? { proxyCPUSeconds.map { $0 / max(durationSeconds, 1e-9) } }

    /// Requests per second per proxy core: throughput normalised by what the proxy burned.
    public var requestsPerSecondPerCore: Double? {
        guard let cores = proxyCores, cores > 0 else { return nil }
        return requestsPerSecond / cores
    }
}

/// Everything one `bench dataplane` invocation measured, with where and how.
public struct DataPlaneResults: Sendable, Codable {
    public var date: String
    public var machine: String
    public var command: String
    public var notes: [String]
    public var latency: [LatencyRun]
    public var throughput: [ThroughputRun]
    /// The same target measured by our generator and by wrk (closed loop).
    public var crossCheck: [ThroughputRun]

    public init(date: String, machine: String, command: String, notes: [String] = [], latency: [LatencyRun] = [],
                throughput: [ThroughputRun] = [], crossCheck: [ThroughputRun] = []) {
        self.date = date
        self.machine = machine
        self.command = command
        self.notes = notes
        self.latency = latency
        self.throughput = throughput
        self.crossCheck = crossCheck
    }

    public var concurrencies: [Int] { latency.concurrencies }
    public var modes: [DataPlaneMode] { latency.modes }

    public func run(_ mode: DataPlaneMode, connections: Int) -> LatencyRun? {
        latency.run(mode, connections: connections)
    }

    /// Latency the mode adds over the baseline at one percentile, microseconds (may be negative: noise).
    public func added(_ mode: DataPlaneMode, connections: Int, _ percentile: KeyPath<LatencyRun, UInt64>) -> Double? {
        latency.added(mode, connections: connections, percentile)
    }
}
