import MeshModel

/// Runs a `Scenario` in virtual time and returns what it observed.
///
/// Deterministic: the same scenario and seed give an identical `SimulationResult` (no wall clock,
/// no global randomness, no threads). The real controller (`MeshController`) computes every
/// proxy's configuration and the real sidecar engine (`Sidecar`) makes every data-plane decision;
/// the simulator only carries messages between them in virtual time (see `CostModel` for the
/// modelled costs and `LoadState` for the load generator's rules).
public struct Simulation {
    public let scenario: Scenario
    public let seed: UInt64
    private var engine: SimEngine

    /// The most events one run processes (`ScenarioLimits.maxEvents`; smaller in tests).
    public let eventLimit: Int
    /// Whether the run records its packets (`packets`, `sim --pcap`).
    public let capturesPackets: Bool

    /// `seed` nil: the scenario's own seed. Builds the cluster as it is at 0s.
    public init(scenario: Scenario, seed: UInt64? = nil, eventLimit: Int = ScenarioLimits.maxEvents, capturePackets: Bool = false) {
        self.scenario = scenario
        self.seed = seed ?? scenario.seed
        self.eventLimit = eventLimit
        self.capturesPackets = capturePackets
        engine = Self.makeEngine(scenario, seed: self.seed, eventLimit: eventLimit, capturePackets: capturePackets)
    }

    private static func makeEngine(_ scenario: Scenario, seed: UInt64, eventLimit: Int, capturePackets: Bool) -> SimEngine {
        let engine = SimEngine(scenario: scenario, seed: seed, eventLimit: eventLimit)
        if capturePackets { engine.capture = PacketCapture() }
        return engine
    }

    /// Runs the scenario to its end (its `duration`, or until every step and load has finished).
    /// Running again starts over from 0s with the same seed, and gives the same result.
    /// `progress` is told how far the run got every `SimProgress.interval` events.
    public mutating func run(progress: ((SimProgress) -> Void)? = nil) -> SimulationResult {
        if engine.finished { engine = Self.makeEngine(scenario, seed: seed, eventLimit: eventLimit, capturePackets: capturesPackets) }
        engine.run(progress: progress)
        return engine.result()
    }

    /// The last run's traffic as a pcap file (libpcap format, nanosecond virtual timestamps, raw
    /// IPv4), or nil without `capturePackets`.
    public var packets: [UInt8]? { engine.capture?.bytes }

    /// The current configuration of a meshed pod (`namespace/pod-name`) as pretty JSON, or nil
    /// when the pod does not exist or has no sidecar. Before `run()`: the configuration at 0s.
    public func proxyConfigJSON(pod: String) -> String? { engine.proxyConfigJSON(pod: pod) }

    /// `namespace/pod-name` of every pod with a sidecar, sorted.
    public var meshedPods: [String] { engine.meshedPodNames }
}
