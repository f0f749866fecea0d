import Foundation
import MeshShell
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A cgroup v2 directory of the test's own (`<unified mount>/mesh-<pid>-<n>-<purpose>`), the
/// "pod" of the eBPF capture tests: processes started through `wrap` run in it (or a child), and
/// `delete()` kills what still runs there and removes it with its children.
public final class TestCgroup: @unchecked Sendable {
    public let path: String
    private static let counter = Mutex(0)

    /// Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a
    /// hybrid machine); nil without one.
    public static let mountPoint: String? = CgroupV2.mountPoint()

    /// Why eBPF capture tests cannot run here, on top of the network-namespace reasons: cgroup v2.
    public static var unavailableReason: String? {
        mountPoint == nil ? "eBPF capture needs a cgroup v2 hierarchy (none is mounted)" : nil
    }

    public init(purpose: String) throws {
        guard let mount = Self.mountPoint else { throw CommandFailure(description: "no cgroup v2 hierarchy is mounted") }
        let serial = Self.counter.withLock { value in
            value += 1
            return value
        }
        path = "\(mount)/mesh-\(getpid())-\(serial)-\(purpose)"
        try Self.makeDirectory(path)
    }

    private init(path: String) throws {
        self.path = path
        try Self.makeDirectory(path)
    }

    /// A child cgroup (the sidecar's or the app's inside a pod).
    public func child(_ name: String) throws -> TestCgroup {
        try TestCgroup(path: "\(path)/\(name)")
    }

    /// The command line that runs `arguments` inside this cgroup: a shell moves itself in, then
    /// execs them (a child process inherits its parent's cgroup). Wrap outside `ip netns exec`,
    /// which remounts /sys.
    public func wrap(_ arguments: [String]) -> [String] {
        ["/bin/sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", "\(path)/cgroup.procs"] + arguments
    }

    /// Kills every process in it and its children, then removes them all.
    public func delete() {
        CgroupV2.remove(path)
    }

    private static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o755) == 0 else {
            throw CommandFailure(description: "mkdir \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// What the eBPF capture suites need, checked once: root and network namespaces with `tools`
/// (`CaptureTestEnvironment`), cgroup v2, the eBPF object the build embedded (its problem, from
/// `InterceptorObject.unavailableReason`, is passed in: MeshTesting does not link it), and fsm.
public enum EBPFTestEnvironment {
    /// Why the suite cannot run here; nil when it can.
    public static func unavailableReason(needing tools: [String], objectProblem: String?) -> String? {
        if let reason = CaptureTestEnvironment.unavailableReason(needing: tools) { return reason }
        if let reason = TestCgroup.unavailableReason { return reason }
        if let objectProblem { return "eBPF capture needs the eBPF object: \(objectProblem)" }
        return CaptureTestEnvironment.binary("fsm") == nil ? "the fsm binary was not built (swift build --build-tests)" : nil
    }

    /// For `.enabled(if:)`, whose comment carries the reason: false when `reason` is set.
    public static func isAvailable(_ reason: String?, suite: String) -> Bool {
        reason == nil
    }
}
