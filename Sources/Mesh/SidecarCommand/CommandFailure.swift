/// A command that could not do its job, in one line of plain words (what failed, why, what to
/// do); ArgumentParser prints it as `Error: <message>` and exits with status 1.
public struct CommandFailure: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    public init(_ message: String) {
        self.message = message
    }
}
