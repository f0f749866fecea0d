import Foundation
import MeshShell
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Helpers for tests that run real traffic capture: commands, tools, the products built next to
/// the tests, and network namespaces of the test's own (the capture tests of MeshRedirect and the
/// iptables-mode sidecar tests share them).
public enum CaptureTestEnvironment {
    public static let searchPath = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"]
        + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)

    public static func tool(_ name: String) -> String? {
        searchPath.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Why the capture tests cannot run here (nil: they can): root, the `tools`, and the right to
    /// create a network namespace (root in a container may still lack CAP_SYS_ADMIN/CAP_NET_ADMIN).
    public static func unavailableReason(needing tools: [String]) -> String? {
        #if os(Linux)
        let uid = geteuid()
        if uid != 0 { return "traffic capture needs root to create network namespaces and nat rules (running as uid \(uid))" }
        for name in tools where tool(name) == nil {
            return "traffic capture needs `\(name)` (the Debian packages are installed by `make setup`)"
        }
        let probe = "mesh-check-\(getpid())-\(NetworkNamespace.nextSerial())"
        guard let ip = tool("ip"), let created = try? Command.run(ip, ["netns", "add", probe]) else {
            return "cannot run `ip netns add`"
        }
        if created.status != 0 { return "cannot create a network namespace: \(created.errorOutput.trimmingCharacters(in: .whitespacesAndNewlines))" }
        _ = try? Command.run(ip, ["netns", "delete", probe])
        return nil
        #else
        return "traffic capture needs Linux netfilter"
        #endif
    }

    /// A product built next to the test bundle, or in the package's `.build/debug` (`swift test`
    /// and `swift build --build-tests` build every product).
    public static func binary(_ name: String, filePath: String = #filePath) -> String? {
        var candidates: [URL] = []
        if let bundleDirectory = Bundle.main.executableURL?.deletingLastPathComponent() { candidates.append(bundleDirectory) }
        if let first = CommandLine.arguments.first { candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent()) }
        for bundle in Bundle.allBundles { candidates.append(bundle.bundleURL.deletingLastPathComponent()) }
        // Sources/Mesh/Testing/<this file> → the package root.
        var packageRoot = URL(fileURLWithPath: filePath)
        for _ in 0..<4 { packageRoot.deleteLastPathComponent() }
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        return candidates.map { $0.appendingPathComponent(name).path }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

public struct CommandResult: Sendable {
    public var status: Int32
    public var output: String
    public var errorOutput: String
}

public enum Command {
    /// Runs a command to completion with optional standard input.
    public static func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> CommandResult {
        let outcome = try ToolProcess.run(executable, arguments, input: input)
        return CommandResult(status: outcome.status, output: outcome.output, errorOutput: outcome.errorOutput)
    }
}

public struct CommandFailure: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

/// A network namespace of the test's own (`mesh-<pid>-<n>-<purpose>`), deleted with everything
/// started in it by `delete()`.
public final class NetworkNamespace {
    public let name: String
    private let ipTool: String
    private var started: [SpawnedProcess] = []
    private static let counter = Mutex(0)

    /// Unique within the process: test suites of several targets create namespaces at once.
    static func nextSerial() -> Int {
        counter.withLock { value in
            value += 1
            return value
        }
    }

    public init(purpose: String) throws {
        ipTool = CaptureTestEnvironment.tool("ip") ?? "/usr/sbin/ip"
        name = "mesh-\(getpid())-\(Self.nextSerial())-\(purpose)"
        try check(Command.run(ipTool, ["netns", "add", name]), "ip netns add \(name)")
        try ip(["link", "set", "lo", "up"])
    }

    /// Runs `ip ARGS` against this namespace (`ip -n NS ARGS`).
    public func ip(_ arguments: [String]) throws {
        try check(Command.run(ipTool, ["-n", name] + arguments), "ip \(arguments.joined(separator: " "))")
    }

    /// The namespace's file, for programs that enter it themselves (`fsm interceptor`'s netns).
    public var path: String { "/var/run/netns/\(name)" }

    /// Runs a command inside the namespace to completion (inside `cgroup` too, when given).
    public func exec(_ arguments: [String], input: String? = nil, cgroup: TestCgroup? = nil) throws -> CommandResult {
        let command = commandLine(arguments, cgroup: cgroup)
        return try Command.run(command[0], Array(command.dropFirst()), input: input)
    }

    /// `ip netns exec NAME ARGS`; with a cgroup, `nsenter --net` from inside the cgroup instead:
    /// `ip netns exec` remounts /sys, and a pod's processes must see the host's cgroup and bpf
    /// filesystems (as containers with their cgroup mounted do).
    private func commandLine(_ arguments: [String], cgroup: TestCgroup?) -> [String] {
        guard let cgroup else { return [ipTool, "netns", "exec", name] + arguments }
        return cgroup.wrap([CaptureTestEnvironment.tool("nsenter") ?? "/usr/bin/nsenter", "--net=\(path)", "--"] + arguments)
    }

    /// Starts a long-running command inside the namespace (and `cgroup`, when given) and returns
    /// once it printed `readyLine` (or exited). Its output keeps being drained unless `finish` will read it.
    public func start(_ arguments: [String], readyLine: String, cgroup: TestCgroup? = nil) throws -> RunningCommand {
        let command = try RunningCommand.start(commandLine(arguments, cgroup: cgroup), readyLine: readyLine)
        started.append(command.process)
        return command
    }

    /// Joins this namespace to `other` with a veth pair: `address` here, `otherAddress` there
    /// (both /24), both ends up, and a default route here through the pair (so that a cluster IP
    /// is routed, as kube-proxy's would be, and connect() reaches the nat table).
    public func connect(to other: NetworkNamespace, address: String, otherAddress: String) throws {
        try ip(["link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", other.name])
        try ip(["addr", "add", "\(address)/24", "dev", "v0"])
        try other.ip(["addr", "add", "\(otherAddress)/24", "dev", "v1"])
        try ip(["link", "set", "v0", "up"])
        try other.ip(["link", "set", "v1", "up"])
        try ip(["route", "add", "default", "dev", "v0"])
    }

    /// Stops whatever is still running in the namespace and removes it.
    public func delete() {
        for process in started where process.isRunning {
            process.send(SIGKILL)
            process.wait()
        }
        _ = try? Command.run(ipTool, ["netns", "delete", name])
    }

    private func check(_ result: CommandResult, _ what: String) throws {
        if result.status != 0 { throw CommandFailure(description: "\(what) failed (\(result.status)): \(result.errorOutput)") }
    }
}

/// A long-running command (in a namespace, or on the host).
public struct RunningCommand: Sendable {
    public let process: SpawnedProcess
    /// What it printed up to its ready line.
    public let seen: String

    /// Starts `arguments` (the executable first) and returns once it printed `readyLine` (or
    /// exited); standard error goes with standard output. The caller stops it. A command that
    /// neither prints the line nor exits within `readyWithin` seconds is killed, and the start
    /// fails with what it printed (a wrong ready line must fail a test, not hang the run).
    public static func start(_ arguments: [String], readyLine: String, readyWithin seconds: Int = 60) throws -> RunningCommand {
        let process = try SpawnedProcess.spawn(ProcessLaunch(arguments[0], Array(arguments.dropFirst()), standardInput: .pipe,
                                                             standardOutput: .pipe, standardError: .standardOutput))
        let deadline = ContinuousClock.now + .seconds(seconds)
        var seen = ""
        reading: while !seen.contains(readyLine) {
            switch process.standardOutput?.read(waitingAtMost: .milliseconds(100)) ?? .end {
            case .bytes(let chunk): seen += String(decoding: chunk, as: UTF8.self)
            case .end: break reading
            case .nothingYet:
                guard ContinuousClock.now < deadline else {
                    process.send(SIGKILL)
                    process.wait()
                    throw CommandFailure(description: "\(arguments.joined(separator: " ")) printed no \"\(readyLine)\" within \(seconds) s: \(seen)")
                }
            }
        }
        return RunningCommand(process: process, seen: seen)
    }

    /// Sends SIGTERM and returns everything it printed once it exited.
    public func terminate() -> String {
        process.send(SIGTERM)
        return finish()
    }

    /// Closes the command's standard input, waits for it to exit and returns everything it printed.
    public func finish() -> String {
        process.standardInput?.close()
        let rest = process.standardOutput?.readToEnd() ?? []
        process.wait()
        return seen + String(decoding: rest, as: UTF8.self)
    }

    /// Keeps reading its output so that it never blocks on a full pipe (for commands left running).
    public func drainOutput() {
        guard let output = process.standardOutput else { return }
        Task.detached {
            while true {
                switch output.read() {
                case .bytes: continue
                case .nothingYet: try? await Task.sleep(for: .milliseconds(20))
                case .end: return
                }
            }
        }
    }
}

/// Creates namespaces, runs `body`, and deletes them (with what runs in them) whatever happens.
public func withNamespaces<T>(_ purposes: [String], _ body: ([NetworkNamespace]) throws -> T) throws -> T {
    var namespaces: [NetworkNamespace] = []
    defer { namespaces.forEach { $0.delete() } }
    for purpose in purposes { namespaces.append(try NetworkNamespace(purpose: purpose)) }
    return try body(namespaces)
}

/// What the `redirect-probe` helper saw of one capture attempt: the listener's lines (its
/// `ORIGINAL_DST ip:port`, or `NO_CONNECTION`) and the client's (`CONNECTED` or `CONNECT_FAILED`).
public struct ProbeAttempt: Sendable {
    public var listener: String
    public var client: String

    public init(listener: String, client: String) {
        self.listener = listener
        self.client = client
    }

    public var originalDestination: String? {
        listener.split(separator: "\n").first { $0.hasPrefix("ORIGINAL_DST ") }.map { String($0.dropFirst("ORIGINAL_DST ".count)) }
    }
    public var listenerSawNothing: Bool { listener.contains("NO_CONNECTION") }
    public var connected: Bool { client.contains("CONNECTED") && !client.contains("CONNECT_FAILED") }
}
