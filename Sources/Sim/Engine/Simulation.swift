import MeshModel

/// Runs a `Scenario` in virtual time and returns what it observed.
///
/// Deterministic: the same scenario and seed give an identical `SimulationResult` (no wall clock,
/// no global randomness, no threads).
public struct Simulation {
    public let scenario: Scenario
    public let seed: UInt64

    /// `seed` nil: the scenario's own seed.
    public init(scenario: Scenario, seed: UInt64? = nil) {
        self.scenario = scenario
        self.seed = seed ?? scenario.seed
    }

    /// Runs the scenario to its end (its `duration`, or until every step and load has finished).
    public mutating func run() -> SimulationResult {
        SimulationResult(scenario: scenario, seed: seed, virtualTime: scenario.duration ?? .zero)
    }

    /// The current configuration of a meshed pod (`namespace/pod-name`) as pretty JSON, or nil
    /// when the pod does not exist or has no sidecar.
    public func proxyConfigJSON(pod: String) -> String? { nil }

    /// `namespace/pod-name` of every pod with a sidecar, sorted.
    public var meshedPods: [String] { [] }
}
