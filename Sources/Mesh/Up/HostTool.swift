import Foundation
import MeshShell

/// The system tools `fsm up --pods netns` drives (`ip`, `iptables`), run to completion.
enum HostTool {
    static let searchPath = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"]

    static func path(_ name: String) -> String? {
        searchPath.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `name arguments`; throws only when it cannot be started.
    static func run(_ name: String, _ arguments: [String]) throws(UpError) -> ToolProcess.Outcome {
        guard let executable = path(name) else { throw UpError.network("`\(name)` is not installed (Debian: iproute2, iptables; `make setup` installs them)") }
        do {
            return try ToolProcess.run(executable, arguments)
        } catch {
            throw UpError.network(error.description)
        }
    }

    /// Runs `name arguments` and throws its message when it fails.
    static func require(_ name: String, _ arguments: [String]) throws(UpError) {
        let outcome = try run(name, arguments)
        guard outcome.status == 0 else { throw UpError.network("`\(name) \(arguments.joined(separator: " "))` failed: \(outcome.reason)") }
    }
}

extension ToolProcess.Outcome {
    /// The first line of what it said on error, for a one-line message.
    var reason: String {
        let text = errorOutput.isEmpty ? output : errorOutput
        return text.split(separator: "\n").first.map(String.init) ?? termination.description
    }
}
