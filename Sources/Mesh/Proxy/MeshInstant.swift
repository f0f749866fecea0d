import MeshModel

/// A point in time given to the engine by its shell (virtual time in the simulator, a monotonic
/// clock in the real sidecar). The engine never reads a clock itself.
public struct MeshInstant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the shell's epoch.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = MeshInstant(nanoseconds: 0)

    public static func < (a: MeshInstant, b: MeshInstant) -> Bool { a.nanoseconds < b.nanoseconds }
    public static func + (a: MeshInstant, d: MeshDuration) -> MeshInstant { MeshInstant(nanoseconds: a.nanoseconds + d.nanoseconds) }
    public static func - (a: MeshInstant, b: MeshInstant) -> MeshDuration { MeshDuration(nanoseconds: a.nanoseconds - b.nanoseconds) }

    public var description: String { MeshDuration(nanoseconds: nanoseconds).description }
}
