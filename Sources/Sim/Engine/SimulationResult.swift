import MeshModel
import MeshProxy

/// Everything a run observed: the input of expectations and of every report format.
/// Collections are ordered so that rendering them is deterministic.
public struct SimulationResult: Sendable {
    public var scenario: Scenario
    /// The seed actually used (`--seed` overrides the file's).
    public var seed: UInt64
    public var virtualTime: MeshDuration
    /// In the order the loads were declared.
    public var loads: [LoadResult]
    /// Sorted by deployment name.
    public var apps: [AppResult]
    /// Sorted by `namespace/pod`.
    public var proxies: [ProxyResult]
    /// Faults, config pushes and restarts, in time order, for the summary and the HTML page.
    public var events: [SimEvent]
    /// Wall-clock-free work counters of the simulator itself (events processed, ...).
    public var eventsProcessed: Int
    /// Why the run stopped before its end (`ScenarioLimits.maxEvents`, or the hour of virtual
    /// time with work pending): such a run does not pass. nil when it ran to its end.
    public var stopped: String?
    /// What the sidecars traced; nil when tracing is off.
    public var traces: TraceSummary?

    public init(scenario: Scenario, seed: UInt64, virtualTime: MeshDuration, loads: [LoadResult] = [], apps: [AppResult] = [], proxies: [ProxyResult] = [], events: [SimEvent] = [], eventsProcessed: Int = 0, stopped: String? = nil,
                traces: TraceSummary? = nil) {
        self.scenario = scenario
        self.seed = seed
        self.virtualTime = virtualTime
        self.loads = loads
        self.apps = apps
        self.proxies = proxies
        self.events = events
        self.eventsProcessed = eventsProcessed
        self.stopped = stopped
        self.traces = traces
    }
}

public struct LatencySummary: Hashable, Sendable {
    /// Milliseconds of modelled (virtual) time.
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    public init(p50: Double = 0, p90: Double = 0, p99: Double = 0, p999: Double = 0, max: Double = 0) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.max = max
    }

    public func value(of percentile: String) -> Double? {
        switch percentile {
        case "p50": p50
        case "p90": p90
        case "p99": p99
        case "p999": p999
        case "max": max
        default: nil
        }
    }
}

/// Responses of one load in one time bucket, for the "shares over time" chart.
public struct LoadBucket: Hashable, Sendable {
    public var start: MeshDuration
    /// Sorted by code.
    public var status: [(code: Int, count: Int)]
    /// Sorted by deployment.
    public var backends: [(deployment: String, count: Int)]

    public init(start: MeshDuration, status: [(code: Int, count: Int)] = [], backends: [(deployment: String, count: Int)] = []) {
        self.start = start
        self.status = status
        self.backends = backends
    }

    public static func == (a: LoadBucket, b: LoadBucket) -> Bool {
        a.start == b.start && a.status.elementsEqual(b.status, by: { $0 == $1 }) && a.backends.elementsEqual(b.backends, by: { $0 == $1 })
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(start)
        for s in status { hasher.combine(s.code); hasher.combine(s.count) }
        for b in backends { hasher.combine(b.deployment); hasher.combine(b.count) }
    }
}

public struct LoadResult: Sendable {
    public var name: String
    public var requests: Int
    /// Sorted by code; 0 = the connection failed or was reset.
    public var status: [(code: Int, count: Int)]
    /// Responses by the Deployment that served them, sorted by name.
    public var backends: [(deployment: String, count: Int)]
    public var latency: LatencySummary
    /// One bucket per second of virtual time (or coarser for long runs), in time order.
    public var buckets: [LoadBucket]
    public var bucketWidth: MeshDuration
    /// HTTP responses by the app's body text (trimmed, at most 80 characters), sorted by text.
    /// Only responses whose body the simulator knows (echo apps, pipy one-liners) are counted.
    public var bodies: [(text: String, count: Int)]
    /// Requests whose answer carried Envoy-style response flags (`UO`, `UF,URX`, ...: the client's
    /// and the server's sidecar's), by their printed form, sorted by it; unflagged ones are left out.
    public var responseFlags: [(flags: String, count: Int)]
    /// The response headers the load's `headers:` expectations name, with the values seen.
    public var headers: [HeaderObservation]
    /// The request headers the load's `upstreamHeaders:` expectations name, as the apps received them.
    public var upstreamHeaders: [HeaderObservation]
    /// grpc:// loads: calls by the gRPC status they ended with, sorted by code; empty for other loads.
    public var grpcStatus: [(code: Int, count: Int)] = []
    /// https:// loads: handshakes the client or the server failed (curl's exits 35, 52, 60); nil for other loads.
    public var tlsFailures: Int?

    public init(name: String, requests: Int = 0, status: [(code: Int, count: Int)] = [], backends: [(deployment: String, count: Int)] = [], latency: LatencySummary = LatencySummary(), buckets: [LoadBucket] = [], bucketWidth: MeshDuration = .seconds(1), bodies: [(text: String, count: Int)] = [],
                responseFlags: [(flags: String, count: Int)] = [], headers: [HeaderObservation] = [], upstreamHeaders: [HeaderObservation] = []) {
        self.upstreamHeaders = upstreamHeaders
        self.bodies = bodies
        self.responseFlags = responseFlags
        self.headers = headers
        self.name = name
        self.requests = requests
        self.status = status
        self.backends = backends
        self.latency = latency
        self.buckets = buckets
        self.bucketWidth = bucketWidth
    }

    public func count(status code: Int) -> Int { status.first(where: { $0.code == code })?.count ?? 0 }
    public func count(backend name: String) -> Int { backends.first(where: { $0.deployment == name })?.count ?? 0 }
    public func count(body text: String) -> Int { bodies.first(where: { $0.text == text })?.count ?? 0 }
    /// Requests whose flags include `flag` (alone or with others).
    public func count(flag: ResponseFlags) -> Int {
        responseFlags.reduce(0) { total, entry in ResponseFlags(parsing: entry.flags)?.isSuperset(of: flag) == true ? total + entry.count : total }
    }
}

public struct AppResult: Hashable, Sendable {
    public var deployment: String
    public var received: Int
    /// Model-specific counters (bookbuyer `booksBought`, bookstore `booksSold`, ...), in a fixed order.
    public var counters: [AppCounter]
    public init(deployment: String, received: Int, counters: [AppCounter] = []) {
        self.deployment = deployment
        self.received = received
        self.counters = counters
    }
}

public struct AppCounter: Hashable, Sendable {
    public var name: String
    public var value: Int
    public init(name: String, value: Int) {
        self.name = name
        self.value = value
    }
}

public struct ProxyResult: Sendable {
    /// `namespace/pod`.
    public var pod: String
    /// Modelled CPU time spent by this sidecar.
    public var cpuMs: Double
    /// Modelled resident memory.
    public var memoryBytes: Int
    /// Size of the last applied configuration (compact JSON).
    public var configBytes: Int
    /// Sidecar counters by name (sorted), as `fsm proxy get stats` shows them.
    /// Rendered from the sidecar when read: a large mesh has tens of counters per cluster per
    /// proxy, and no report format prints them.
    public var counters: [(name: String, value: UInt64)] {
        get { storedCounters ?? sidecar?.stats.counters() ?? [] }
        set { storedCounters = newValue }
    }

    private var storedCounters: [(name: String, value: UInt64)]?
    private var sidecar: Sidecar?

    public init(pod: String, cpuMs: Double = 0, memoryBytes: Int = 0, configBytes: Int = 0, counters: [(name: String, value: UInt64)] = []) {
        self.pod = pod
        self.cpuMs = cpuMs
        self.memoryBytes = memoryBytes
        self.configBytes = configBytes
        self.storedCounters = counters
    }

    /// Counters read from `sidecar` (a copy of its state at the end of the run) on demand.
    init(pod: String, cpuMs: Double, memoryBytes: Int, configBytes: Int, sidecar: Sidecar) {
        self.pod = pod
        self.cpuMs = cpuMs
        self.memoryBytes = memoryBytes
        self.configBytes = configBytes
        self.sidecar = sidecar
    }
}

public struct SimEvent: Hashable, Sendable {
    /// What happened, so that reports can mark it without reading the text.
    public enum Kind: String, Hashable, Sendable {
        /// A manifest applied or deleted by a step.
        case change
        /// Changed configurations reached the proxies.
        case configPush
        /// A fault started or ended, a pod was killed or restarted.
        case fault
        /// A load started or finished.
        case load
        /// Anything else worth telling: a rejected config, a controller diagnostic, a bad target.
        case note
    }

    public var at: MeshDuration
    public var kind: Kind
    public var text: String
    public init(at: MeshDuration, kind: Kind = .note, text: String) {
        self.at = at
        self.kind = kind
        self.text = text
    }
}
