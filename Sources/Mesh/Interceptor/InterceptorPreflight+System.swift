import CLibBPF
import MeshShell
#if canImport(Glibc)
import Glibc
#endif

extension InterceptorPreflight {
    static let cgroup2Magic: UInt = 0x6367_7270
    static let cgroup1Magic: UInt = 0x0027_e0eb
    static let bpfMagic: UInt = 0xcafe_4a11

    /// What a path is: a cgroup v2 or v1 directory, a bpf filesystem, missing, ...
    public static func kind(of path: String) -> PathKind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        guard info.st_mode & S_IFMT == S_IFDIR else { return .notDirectory }
        let type = fsm_filesystem_type(path)
        guard type != -1 else { return .missing }
        switch UInt(bitPattern: type) {
        case cgroup2Magic: return .cgroup2
        case cgroup1Magic: return .cgroup1
        case bpfMagic: return .bpf
        case let magic: return .other(magic)
        }
    }

    /// Where the cgroup v2 hierarchy is mounted (/proc/self/mountinfo), if it is.
    public static func cgroup2MountPoint() -> String? { CgroupV2.mountPoint() }
}

extension InterceptorPreflight.Facts {
    /// This process and machine, for the cgroups at `cgroupPaths`.
    public static func current(cgroupPaths: [String]) -> InterceptorPreflight.Facts {
        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        return InterceptorPreflight.Facts(
            effectiveUID: geteuid(), effectiveCapabilities: effectiveCapabilities(), kernelRelease: release,
            hasKernelBTF: access("/sys/kernel/btf/vmlinux", R_OK) == 0,
            cgroups: cgroupPaths.map { ($0, InterceptorPreflight.kind(of: $0)) },
            cgroup2Mount: InterceptorPreflight.cgroup2MountPoint())
    }

    /// `CapEff:` of /proc/self/status.
    static func effectiveCapabilities() -> UInt64? {
        guard let text = ProcText.read("/proc/self/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst("CapEff:".count).trimmingEdges(of: " \t"), radix: 16)
        }
        return nil
    }
}

/// Small text files of /proc and /sys, read whole.
enum ProcText {
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
