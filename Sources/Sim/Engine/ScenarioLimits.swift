import MeshModel

/// Upper bounds on what a scenario may ask of the simulator, so that no scenario runs for hours or
/// allocates gigabytes by mistake; the manifests inside it have `ManifestLimits` too. Each is far
/// above the shipped scenarios and the generated scale scenario (10,010 pods, 1,000,000 requests in
/// 10 loads). docs/SCENARIOS.md lists them with their error texts.
public enum ScenarioLimits {
    /// Virtual time: `duration`, a step's `at`, a load's `duration`; a run without a duration stops here.
    public static let maxVirtualTime = MeshDuration.seconds(3600)
    /// `requests` of one load, and what an open loop sends in its duration (`qps` × `duration`).
    public static let maxRequestsPerLoad = 1_000_000
    /// Requests of every load of a scenario together (closed loops without `requests` not counted:
    /// they are bounded by `maxClosedLoopWorkerSeconds`).
    public static let maxRequestsPerScenario = 5_000_000
    /// `qps` of one load.
    public static let maxQPS = 1_000_000.0
    /// `bodyBytes` of a load's requests (a real run sends them: 16 MiB).
    public static let maxBodyBytes = 16 * 1024 * 1024
    /// `concurrency` of one load (workers, each with its connection).
    public static let maxConcurrency = 10_000
    /// A closed loop without `requests` runs `concurrency` workers for its `duration`, each sending
    /// as soon as its answer is back (thousands of requests per virtual second): at most this many
    /// worker-seconds (`concurrency` × `duration` in seconds), e.g. 10 workers for a minute.
    public static let maxClosedLoopWorkerSeconds = 600.0
    /// Events the simulator processes in one run (each message, timer and load tick is one): a
    /// bound on wall-clock work, about a minute and a half of a release build. A request costs
    /// about six; the generated scale scenario (1,000,000 requests) needs about 6 million, and
    /// `maxRequestsPerScenario` about 30 million.
    public static let maxEvents = 50_000_000
}
