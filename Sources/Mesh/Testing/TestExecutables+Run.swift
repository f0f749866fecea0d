import MeshShell

extension TestExecutables {
    /// A built command run to completion, as a user sees it.
    public struct Outcome: Sendable {
        public var termination: ProcessTermination
        public var stdout: String
        public var stderr: String

        /// The exit status (128 + N when signal N ended it).
        public var status: Int32 { termination.shellStatus }
    }

    /// A command that did not finish in time (it was stopped), with what it printed.
    public struct Overrun: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `path arguments` to completion and captures both outputs (read as they come: neither
    /// pipe can fill and block it). `input` is its standard input (/dev/null without); `environment`
    /// entries replace the inherited ones of the same name. Past `timeout` it is stopped (SIGTERM,
    /// then SIGKILL) and the run throws `Overrun`, so that a hung command fails its test.
    public static func run(_ path: String, _ arguments: [String], input: String? = nil, in directory: String? = nil,
                           environment: [String: String] = [:], timeout: Duration = .seconds(60)) throws -> Outcome {
        let launch = ProcessLaunch(path, arguments, environment: environment.isEmpty ? nil : ProcessLaunch.inheritedEnvironment(overriding: environment),
                                   workingDirectory: directory)
        let completion = try SpawnedProcess.run(launch, input: input.map { Array($0.utf8) }, timeout: timeout)
        guard !completion.timedOut else {
            throw Overrun(description: "\(launch.commandLine) did not finish within \(timeout) (\(completion.termination)): \(completion.errorText.suffix(600))")
        }
        return Outcome(termination: completion.termination, stdout: completion.outputText, stderr: completion.errorText)
    }
}
