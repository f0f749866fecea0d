import Glibc

/// What to start as a child process: the executable (a path: nothing searches `PATH`), its
/// arguments, environment and working directory, and where its standard streams go.
/// `SpawnedProcess.spawn` starts it with posix_spawn (DECISIONS 263).
public struct ProcessLaunch: Sendable {
    /// Where the child's standard input comes from.
    public enum Input: Sendable, Hashable {
        /// This process's own standard input.
        case inherit
        /// `/dev/null`: the child reads end of file at once.
        case null
        /// A pipe this process writes (`SpawnedProcess.standardInput`).
        case pipe
        /// A file, read from its start.
        case file(String)
    }

    /// Where the child's standard output (or error) goes.
    public enum Output: Sendable, Hashable {
        case inherit
        case null
        /// A pipe this process reads (`SpawnedProcess.standardOutput`, `.standardError`).
        case pipe
        /// A file, created (0644) when missing; emptied first unless `append`.
        case file(String, append: Bool)
    }

    /// Where the child's standard error goes: somewhere of its own, or with its standard output.
    public enum ErrorOutput: Sendable, Hashable {
        case to(Output)
        /// The same place as standard output (`2>&1`).
        case standardOutput

        public static let inherit = ErrorOutput.to(.inherit)
        public static let null = ErrorOutput.to(.null)
        public static let pipe = ErrorOutput.to(.pipe)
        public static func file(_ path: String, append: Bool) -> ErrorOutput { .to(.file(path, append: append)) }
    }

    public var executable: String
    public var arguments: [String]
    /// `NAME=value` entries; nil: this process's own environment.
    public var environment: [String: String]?
    /// The child's working directory; nil: this process's.
    public var workingDirectory: String?
    public var standardInput: Input
    public var standardOutput: Output
    public var standardError: ErrorOutput
    /// The child leads a session of its own (no controlling terminal, no terminal signals): for
    /// processes that outlive their parent (`fsm up`'s).
    public var newSession: Bool

    public init(_ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil, workingDirectory: String? = nil,
                standardInput: Input = .null, standardOutput: Output = .pipe, standardError: ErrorOutput = .pipe, newSession: Bool = false) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.newSession = newSession
    }

    /// This process's environment with `overrides` replacing (or adding) entries of the same name.
    public static func inheritedEnvironment(overriding overrides: [String: String] = [:]) -> [String: String] {
        var entries: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                entries[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            cursor += 1
        }
        return entries.merging(overrides) { $1 }
    }

    /// The arguments as the user would type them (for messages): the executable first.
    public var commandLine: String { ([executable] + arguments).joined(separator: " ") }
}

/// A child process that could not be started, in one line: `cannot run /usr/sbin/ip: no such
/// file or directory`, `cannot run /bin/sh: cannot open /tmp/x/log: permission denied`.
public struct SpawnFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public var executable: String
    public var reason: String

    public init(executable: String, reason: String) {
        self.executable = executable
        self.reason = reason
    }

    public init(executable: String, errno code: Int32) {
        self.init(executable: executable, reason: SystemErrorText.describe(errno: code))
    }

    public var description: String { "cannot run \(executable): \(reason)" }
}
