/// A command that could not do its job, in one line of plain words (what failed, why, what to
/// do); ArgumentParser prints it as `Error: <message>` and exits with status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }

    init(_ message: String) {
        self.message = message
    }
}
