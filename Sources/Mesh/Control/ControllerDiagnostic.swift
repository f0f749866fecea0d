import MeshModel

/// A problem the controller found in its inputs (a missing route group, an unresolved port, a
/// second split of one root service), with FSM's error code for it. Sorted by text.
public struct ControllerDiagnostic: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var code: MeshErrorCode
    public var text: String

    public init(_ code: String, _ text: String) {
        self.code = .known(code)
        self.text = text
    }

    public var description: String { "\(code): \(text)" }

    public static func < (lhs: ControllerDiagnostic, rhs: ControllerDiagnostic) -> Bool {
        (lhs.text, lhs.code.code) < (rhs.text, rhs.code.code)
    }
}
