/// A refused install option or value, as one line naming what was wrong and what was expected.
public struct InstallError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
