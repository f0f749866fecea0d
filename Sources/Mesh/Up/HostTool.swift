import Foundation

/// The system tools `fsm up --pods netns` drives (`ip`, `iptables`), run to completion.
enum HostTool {
    static let searchPath = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"]

    struct Outcome {
        var status: Int32
        var output: String
        var errorOutput: String

        /// The first line of what it said on error, for a one-line message.
        var reason: String {
            let text = errorOutput.isEmpty ? output : errorOutput
            return text.split(separator: "\n").first.map(String.init) ?? "exit status \(status)"
        }
    }

    static func path(_ name: String) -> String? {
        searchPath.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `name arguments`; throws only when it cannot be started.
    static func run(_ name: String, _ arguments: [String]) throws(UpError) -> Outcome {
        guard let executable = path(name) else { throw UpError.network("`\(name)` is not installed (Debian: iproute2, iptables; `make setup` installs them)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw UpError.network("cannot run \(executable): \(error.localizedDescription)")
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self), errorOutput: String(decoding: err, as: UTF8.self))
    }

    /// Runs `name arguments` and throws its message when it fails.
    static func require(_ name: String, _ arguments: [String]) throws(UpError) {
        let outcome = try run(name, arguments)
        guard outcome.status == 0 else { throw UpError.network("`\(name) \(arguments.joined(separator: " "))` failed: \(outcome.reason)") }
    }
}
