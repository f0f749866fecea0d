/// A system tool (`ip`, `iptables`, ...) run to completion, its output collected: what `fsm up
/// --pods netns` and the capture tests drive.
public enum ToolProcess {
    public struct Outcome: Sendable {
        public var termination: ProcessTermination
        public var output: String
        public var errorOutput: String

        /// The exit status; 128 + N when signal N ended it (`ProcessTermination.shellStatus`).
        public var status: Int32 { termination.shellStatus }
    }

    /// Runs `executable arguments` with optional standard input (/dev/null without); throws only
    /// when it cannot be started. With a `timeout` it is stopped (SIGTERM, then SIGKILL) past it.
    public static func run(_ executable: String, _ arguments: [String], input: String? = nil,
                           timeout: Duration? = nil) throws(SpawnFailure) -> Outcome {
        let completion = try SpawnedProcess.run(ProcessLaunch(executable, arguments), input: input.map { Array($0.utf8) }, timeout: timeout)
        return Outcome(termination: completion.termination, output: completion.outputText, errorOutput: completion.errorText)
    }
}
