import Foundation
import MeshShell
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A pod for the eBPF capture tests, as a node would make it: a network namespace of its own and a
/// cgroup v2 directory with an `app` and a `sidecar` child for its two containers. `delete()`
/// kills what runs in it and removes both.
public final class CapturePod: @unchecked Sendable {
    public let name: String
    public let address: String
    public let namespace: NetworkNamespace
    public let cgroup: TestCgroup
    public let appCgroup: TestCgroup
    public let sidecarCgroup: TestCgroup

    public init(_ name: String, address: String) throws {
        self.name = name
        self.address = address
        namespace = try NetworkNamespace(purpose: name)
        do {
            cgroup = try TestCgroup(purpose: name)
            appCgroup = try cgroup.child("app")
            sidecarCgroup = try cgroup.child("sidecar")
        } catch {
            namespace.delete()
            throw error
        }
    }

    /// Runs `arguments` as the pod's app (its netns, its app cgroup) to completion.
    public func app(_ arguments: [String], input: String? = nil) throws -> CommandResult {
        try namespace.exec(arguments, input: input, cgroup: appCgroup)
    }

    /// This pod's entry of `fsm interceptor --pods` (YAML). `sidecarByCgroup` names the sidecar's
    /// cgroup too (else the proxy uid alone tells it apart).
    public func podsFileEntry(annotations: [String: String] = [:], sidecarByCgroup: Bool = false, withNamespace: Bool = true) -> String {
        var lines = ["- name: test/\(name)", "  ip: \(address)", "  cgroup: \(cgroup.path)"]
        if withNamespace { lines.append("  netns: \(namespace.path)") }
        if sidecarByCgroup { lines.append("  sidecarCgroup: \(sidecarCgroup.path)") }
        if !annotations.isEmpty {
            lines.append("  annotations:")
            lines += annotations.sorted { $0.key < $1.key }.map { "    \($0.key): \"\($0.value)\"" }
        }
        return lines.joined(separator: "\n")
    }

    public func delete() {
        cgroup.delete()
        namespace.delete()
    }
}

/// `fsm interceptor` for a test: a pods file in a temporary directory, a pin directory of the
/// test's own on the bpf filesystem, started and waited for until it says it runs.
public struct TestInterceptor {
    public let command: RunningCommand
    public let pinDirectory: String
    public let podsFile: String
    private static let counter = Mutex(0)

    /// A pin directory no other test uses.
    public static func newPinDirectory() -> String {
        let serial = counter.withLock { value in
            value += 1
            return value
        }
        return "/sys/fs/bpf/mesh-\(getpid())-\(serial)"
    }

    /// Starts `fsm interceptor` for `entries` (CapturePod.podsFileEntry) with `arguments` added.
    public static func start(fsm: String, entries: [String], arguments: [String] = [], pinDirectory: String = newPinDirectory()) throws -> TestInterceptor {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(pinDirectory.split(separator: "/").last ?? "pods")-pods.yaml").path
        try ("pods:\n" + entries.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let command = try RunningCommand.start([fsm, "interceptor", "--pods", file, "--pin-dir", pinDirectory] + arguments, readyLine: "interceptor started")
        return TestInterceptor(command: command, pinDirectory: pinDirectory, podsFile: file)
    }

    /// Whether it got going (else `output` says why).
    public var started: Bool { command.seen.contains("interceptor started") && command.process.isRunning }

    /// A counter of the `interceptor stopped: name=value ...` line in `output`; -1 when absent. A
    /// whole name: "inbound_redirected" is also the end of "local_inbound_redirected".
    public static func counter(_ name: String, in output: String) -> Int {
        guard let range = output.range(of: " \(name)=") else { return -1 }
        return Int(output[range.upperBound...].prefix { $0.isNumber }) ?? -1
    }

    /// Stops it (SIGTERM) and returns everything it printed.
    public func stop() -> String {
        defer { try? FileManager.default.removeItem(atPath: podsFile) }
        return command.terminate()
    }
}
