import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What the real capture tests need: root, iproute2, iptables, the right to create network
/// namespaces, and the `redirect-probe` binary. `unavailableReason` says why they cannot run here.
enum CaptureEnvironment {
    static let searchPath = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"]

    static func tool(_ name: String) -> String? {
        searchPath.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let unavailableReason: String? = {
        #if os(Linux)
        let uid = geteuid()
        if uid != 0 { return "traffic capture needs root to create network namespaces and iptables rules (running as uid \(uid))" }
        for name in ["ip", "iptables", "iptables-restore"] where tool(name) == nil {
            return "traffic capture needs `\(name)` (Debian packages iptables and iproute2: run `make setup`)"
        }
        // Root in a container may still lack CAP_SYS_ADMIN/CAP_NET_ADMIN: try once.
        let probeName = "meshredir-check-\(getpid())"
        guard let created = try? Command.run(tool("ip")!, ["netns", "add", probeName]) else {
            return "cannot run `ip netns add`"
        }
        if created.status != 0 { return "cannot create a network namespace: \(created.errorOutput.trimmingCharacters(in: .whitespacesAndNewlines))" }
        _ = try? Command.run(tool("ip")!, ["netns", "delete", probeName])
        return nil
        #else
        return "traffic capture needs Linux netfilter"
        #endif
    }()

    static var isAvailable: Bool {
        if let reason = unavailableReason {
            print("MeshRedirectTests: skipping the real traffic capture tests: \(reason)")
            return false
        }
        return true
    }

    /// `redirect-probe` sits next to the test bundle in the build directory (`swift test` builds
    /// every product); the package's own `.build/debug` is the fallback.
    static func probePath(filePath: String = #filePath) -> String? {
        var candidates: [URL] = []
        if let bundleDirectory = Bundle.main.executableURL?.deletingLastPathComponent() { candidates.append(bundleDirectory) }
        if let first = CommandLine.arguments.first { candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent()) }
        for bundle in Bundle.allBundles { candidates.append(bundle.bundleURL.deletingLastPathComponent()) }
        let packageRoot = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        return candidates.map { $0.appendingPathComponent("redirect-probe").path }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

struct CommandResult {
    var status: Int32
    var output: String
    var errorOutput: String
}

enum Command {
    /// Runs a command to completion with optional standard input.
    static func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let inputPipe = input.map { _ in Pipe() }
        process.standardInput = inputPipe ?? FileHandle.nullDevice
        try process.run()
        if let inputPipe, let input {
            inputPipe.fileHandleForWriting.write(Data(input.utf8))
            try inputPipe.fileHandleForWriting.close()
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self), errorOutput: String(decoding: err, as: UTF8.self))
    }
}

/// A network namespace of the test's own, deleted (with everything started in it) by `delete()`.
final class NetworkNamespace {
    let name: String
    private let ip: String
    private var started: [Process] = []

    private static let counter = Mutex(0)

    init(purpose: String) throws {
        ip = CaptureEnvironment.tool("ip") ?? "/usr/sbin/ip"
        let serial = Self.counter.withLock { value in
            value += 1
            return value
        }
        name = "meshredir-\(getpid())-\(serial)-\(purpose)"
        try check(try Command.run(ip, ["netns", "add", name]), "ip netns add \(name)")
        try check(try Command.run(ip, ["-n", name, "link", "set", "lo", "up"]), "bring up lo")
    }

    /// Runs `ip ARGS` against this namespace (`ip -n NS ARGS`).
    func ipCommand(_ arguments: [String]) throws {
        try check(try Command.run(ip, ["-n", name] + arguments), "ip \(arguments.joined(separator: " "))")
    }

    /// Runs a command inside the namespace to completion.
    func exec(_ arguments: [String], input: String? = nil) throws -> CommandResult {
        try Command.run(ip, ["netns", "exec", name] + arguments, input: input)
    }

    /// Starts a long-running command inside the namespace and returns once it printed `readyLine`
    /// (or exited); `finish` closes its standard input and returns the rest of its output.
    func start(_ arguments: [String], readyLine: String) throws -> RunningCommand {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ip)
        process.arguments = ["netns", "exec", name] + arguments
        let output = Pipe(), input = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = input
        try process.run()
        started.append(process)
        var seen = ""
        while !seen.contains(readyLine) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        return RunningCommand(process: process, input: input, output: output, seen: seen)
    }

    /// Stops whatever is still running in the namespace and removes it.
    func delete() {
        for process in started where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        _ = try? Command.run(ip, ["netns", "delete", name])
    }

    private func check(_ result: CommandResult, _ what: String) throws {
        if result.status != 0 { throw HarnessError(message: "\(what) failed (\(result.status)): \(result.errorOutput)") }
    }
}

struct RunningCommand {
    let process: Process
    let input: Pipe
    let output: Pipe
    let seen: String

    /// Closes the command's standard input, waits for it to exit and returns everything it printed.
    func finish() -> String {
        try? input.fileHandleForWriting.close()
        let rest = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return seen + String(decoding: rest, as: UTF8.self)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Creates namespaces, runs `body`, and deletes them whatever happens.
func withNamespaces<T>(_ purposes: [String], _ body: ([NetworkNamespace]) throws -> T) throws -> T {
    var namespaces: [NetworkNamespace] = []
    defer { namespaces.forEach { $0.delete() } }
    for purpose in purposes { namespaces.append(try NetworkNamespace(purpose: purpose)) }
    return try body(namespaces)
}
