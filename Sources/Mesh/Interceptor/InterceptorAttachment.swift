import CLibBPF
#if canImport(Glibc)
import Glibc
#endif

/// What `fsm sidecar --capture ebpf` checks before it serves: whether an interceptor's programs
/// are in force for the sidecar's own cgroup (and so for its pod's apps).
public enum InterceptorAttachment {
    public enum Status: Equatable, Sendable {
        case captured(cgroup: String)
        case notCaptured(cgroup: String)
        /// It cannot tell (no cgroup v2, not allowed to ask the kernel): why.
        case unknown(String)
    }

    public static func currentProcess() -> Status {
        guard let text = ProcText.read("/proc/self/cgroup"),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else {
            return .unknown("this process is in no cgroup v2 hierarchy")
        }
        guard let mount = InterceptorPreflight.cgroup2MountPoint() else { return .unknown("no cgroup v2 hierarchy is mounted") }
        let relative = String(line.dropFirst(3))
        let path = relative == "/" ? mount : mount + relative
        let cgroup: CgroupDirectory
        do {
            cgroup = try CgroupDirectory(path)
        } catch {
            return .unknown("\(error)")
        }
        defer { cgroup.close() }
        guard let programs = Interceptor.effectivePrograms(cgroup, BPF_CGROUP_INET4_CONNECT) else {
            return .unknown("cannot ask the kernel which programs run for \(path): \(SystemWords.describe(errno))")
        }
        let captured = programs.contains { $0.name == "fsm_connect4" }
        return captured ? .captured(cgroup: path) : .notCaptured(cgroup: path)
    }

    /// The names of the programs in force for the cgroup at `path` on the three hooks the capture
    /// uses (attached to it or inherited), nil when the kernel would not say (not root).
    public static func programs(inForceFor path: String) -> [String]? {
        guard let cgroup = try? CgroupDirectory(path) else { return nil }
        defer { cgroup.close() }
        var names: [String] = []
        for hook in Interceptor.cgroupHooks {
            guard let programs = Interceptor.effectivePrograms(cgroup, hook.type) else { return nil }
            names += programs.map(\.name)
        }
        return names
    }
}
