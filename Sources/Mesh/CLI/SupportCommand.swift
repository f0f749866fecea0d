import ArgumentParser
import MeshModel
import MeshSidecarCommand

/// `fsm support error-info [CODE]`: FSM's error codes and what each means, as FSM prints them.
struct SupportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "support",
        abstract: "Troubleshooting aids.",
        subcommands: [ErrorInfoCommand.self]
    )
}

struct ErrorInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "error-info",
        abstract: "List the mapping of one or all error codes to their description.",
        discussion: """
        Log lines of the controller, the injector and the sidecar carry the code of the condition \
        they report (error_code); the controller counts them in fsm_error_err_code_count.

        fsm support error-info E1000     the description of E1000
        fsm support error-info           every code
        """
    )

    @Argument(help: "An error code (E1000); every code when omitted.")
    var code: String?

    func run() throws {
        guard let code else {
            print(BorderedTable(header: ["Error code", "Description"], rows: MeshErrorCode.all.map { [$0.code, $0.text] }).rendered(), terminator: "")
            return
        }
        guard MeshErrorCode.isWellFormed(code) else {
            throw CommandFailure("error code '\(code)' is not a valid error code format, should be of the form Exxxx, ex. E1000")
        }
        guard let known = MeshErrorCode(code) else { throw CommandFailure("error code '\(code)' is not a valid error code recognized by FSM") }
        // FSM's command prints the description as written in its source, after a line break, and
        // wraps it at the width of its longest line: one line of text wraps before its last word.
        print(BorderedTable(header: ["Error code", "Description"], rows: [[known.code, "\n" + known.text]]).rendered(), terminator: "")
    }
}
