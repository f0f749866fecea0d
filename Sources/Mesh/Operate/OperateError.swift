import MeshKube

/// A cluster operation (`fsm install`, `fsm uninstall mesh`, `fsm namespace ...`) that could not
/// do its job, in one line: what, why, and what to do.
public struct OperateError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    /// An API failure while doing `action` (`applying Deployment fsm-system/fsm-controller`).
    public init(_ action: String, _ error: KubeError) {
        message = "\(action): \(error)"
    }

    public var description: String { message }
}
