import MeshModel

/// How far a run has got, reported to an observer every `SimProgress.interval` events: the shell
/// decides (by its own wall clock) whether to show it. Observing changes nothing in the run.
public struct SimProgress: Hashable, Sendable {
    /// Events processed so far.
    public var events: Int
    /// The virtual time reached.
    public var virtualTime: MeshDuration
    /// The run's end, when the scenario has a `duration`.
    public var endTime: MeshDuration?

    /// Events between two reports (a power of two: the engine tests it with a mask).
    public static let interval = 1 << 14
}
