/// What must hold before `fsm interceptor` touches the kernel, judged from facts the caller read
/// (`InterceptorPreflight.Facts.current()` on this machine), so each refusal is one plain line
/// instead of a libbpf error number.
public enum InterceptorPreflight {
    /// The programs read the network namespace cookie in sock_ops and sk_msg (5.15). The guides
    /// name 5.4 for FSM's own programs; their demo runs 5.15.
    public static let minimumKernel = (major: 5, minor: 15)
    static let capabilityNetAdmin = 12
    static let capabilitySysAdmin = 21

    /// What a path turned out to be.
    public enum PathKind: Hashable, Sendable {
        case cgroup2, cgroup1, bpf, missing, notDirectory
        /// Some other filesystem (its statfs magic number).
        case other(UInt)
    }

    public struct Facts: Sendable {
        public var effectiveUID: UInt32
        /// `CapEff` of /proc/self/status; nil when it could not be read (then root counts).
        public var effectiveCapabilities: UInt64?
        /// `uname -r`.
        public var kernelRelease: String
        /// /sys/kernel/btf/vmlinux exists.
        public var hasKernelBTF: Bool
        /// Every pod cgroup (and sidecar cgroup) to attach to, with what it is.
        public var cgroups: [(path: String, kind: PathKind)]
        /// Where the cgroup v2 hierarchy is mounted, if anywhere (for the advice).
        public var cgroup2Mount: String?

        public init(effectiveUID: UInt32, effectiveCapabilities: UInt64?, kernelRelease: String, hasKernelBTF: Bool,
                    cgroups: [(path: String, kind: PathKind)], cgroup2Mount: String?) {
            self.effectiveUID = effectiveUID
            self.effectiveCapabilities = effectiveCapabilities
            self.kernelRelease = kernelRelease
            self.hasKernelBTF = hasKernelBTF
            self.cgroups = cgroups
            self.cgroup2Mount = cgroup2Mount
        }
    }

    /// Every reason the interceptor cannot run, in the order worth fixing; empty when it can.
    public static func problems(_ facts: Facts) -> [String] {
        var problems: [String] = []
        if let problem = privilegeProblem(facts) { problems.append(problem) }
        if let problem = kernelProblem(facts.kernelRelease) { problems.append(problem) }
        problems += facts.cgroups.compactMap { cgroupProblem($0.path, $0.kind, cgroup2Mount: facts.cgroup2Mount) }
        return problems
    }

    /// What is worth saying but does not stop it.
    public static func notes(_ facts: Facts) -> [String] {
        facts.hasKernelBTF ? [] : ["the kernel has no BTF (/sys/kernel/btf/vmlinux): not needed, the capture programs use only the kernel's stable context structs"]
    }

    static func privilegeProblem(_ facts: Facts) -> String? {
        let needed = [capabilitySysAdmin, capabilityNetAdmin]
        if let capabilities = facts.effectiveCapabilities {
            if needed.allSatisfy({ capabilities & (1 << UInt64($0)) != 0 }) { return nil }
        } else if facts.effectiveUID == 0 {
            return nil
        }
        return "fsm interceptor needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to load eBPF programs and attach them to cgroups and interfaces; running as uid \(facts.effectiveUID) without them"
    }

    static func kernelProblem(_ release: String) -> String? {
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        let required = "\(minimumKernel.major).\(minimumKernel.minor)"
        guard numbers.count == 2 else { return "cannot read the kernel version from \"\(release)\"; eBPF capture needs Linux \(required) or newer" }
        if (numbers[0], numbers[1]) >= (minimumKernel.major, minimumKernel.minor) { return nil }
        return "the kernel is \(release), too old for eBPF capture: it needs Linux \(required) or newer (sock_ops and sk_msg programs reading network namespace cookies); use --capture iptables"
    }

    static func cgroupProblem(_ path: String, _ kind: PathKind, cgroup2Mount: String?) -> String? {
        let advice = cgroup2Mount.map { "give a directory under the cgroup v2 hierarchy mounted at \($0)" }
            ?? "mount one (mount -t cgroup2 none /sys/fs/cgroup/unified) and give a directory under it"
        switch kind {
        case .cgroup2: return nil
        case .cgroup1: return "cgroup \(path) is on a cgroup v1 hierarchy: eBPF capture attaches to cgroup v2; \(advice)"
        case .missing: return "cgroup \(path) does not exist: create the pod's cgroup (mkdir) and put its processes in it first"
        case .notDirectory: return "cgroup \(path) is not a directory"
        case .bpf, .other: return "\(path) is not a cgroup directory: eBPF capture attaches to a cgroup v2 directory; \(advice)"
        }
    }
}
