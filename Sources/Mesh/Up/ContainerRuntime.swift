import Foundation
import MeshShell
#if canImport(Glibc)
import Glibc
#endif

/// What `fsm container` does (root, Linux): the last steps a container runtime takes before a
/// container's program runs, on this machine's own filesystem instead of an image's. It enters
/// the pod's network namespace, takes a mount namespace of its own (mounts do not propagate back
/// to the host), mounts each volume at its path (making a missing mount point in an overlay of its
/// nearest existing parent, so the host's directories stay untouched), drops to the container's
/// user and group with no supplementary groups and, when asked, no_new_privs, and execs the
/// program with exactly the container's environment.
public enum ContainerRuntime {
    public struct Launch: Sendable {
        public var netns: String
        public var user: Int
        public var group: Int
        public var noNewPrivileges: Bool
        public var mounts: [ContainerMount]
        /// A root-owned directory of the pod's where overlays for missing mount points are made.
        public var scratch: String?
        public var environment: [String]
        public var argv: [String]
        /// A cgroup v2 directory the program runs in (moved there first, while still root).
        public var cgroup: String?

        public init(netns: String, user: Int, group: Int, noNewPrivileges: Bool, mounts: [ContainerMount], scratch: String?, environment: [String], argv: [String],
                    cgroup: String? = nil) {
            self.netns = netns
            self.user = user
            self.group = group
            self.noNewPrivileges = noNewPrivileges
            self.mounts = mounts
            self.scratch = scratch
            self.environment = environment
            self.argv = argv
            self.cgroup = cgroup
        }
    }

    /// The failure of one step, in plain words.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The environment a container gets besides its own variables (an image's usual defaults).
    static let defaultEnvironment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/"]

    /// Runs the program in place of this process; returns only by throwing.
    public static func exec(_ launch: Launch) throws(Failure) -> Never {
        #if os(Linux)
        let program = try resolve(launch.argv.first ?? "", environment: launch.environment)
        if let cgroup = launch.cgroup {
            do {
                try CgroupV2.enter(cgroup)
            } catch {
                throw Failure(description: error.description)
            }
        }
        try enterNetworkNamespace(launch.netns)
        try privateMounts()
        var overlaid: Set<String> = []
        for mount in launch.mounts.sorted(by: { $0.path.split(separator: "/").count < $1.path.split(separator: "/").count }) {
            try makeMountPoint(mount, scratch: launch.scratch, overlaid: &overlaid)
            try bind(mount)
        }
        guard chdir("/") == 0 else { throw failure("chdir /") }
        try become(user: launch.user, group: launch.group, noNewPrivileges: launch.noNewPrivileges)
        let names = Set(launch.environment.map { $0.prefix { $0 != "=" } })
        let environment = defaultEnvironment.filter { !names.contains($0.prefix { $0 != "=" }) } + launch.environment
        let argv: [UnsafeMutablePointer<CChar>?] = launch.argv.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        execve(program, argv, envp)
        throw failure("exec \(program)")
        #else
        throw Failure(description: "containers need Linux namespaces")
        #endif
    }

    /// The program's path: as given when it has a `/`, else looked up in the container's PATH.
    static func resolve(_ name: String, environment: [String]) throws(Failure) -> String {
        guard !name.isEmpty else { throw Failure(description: "no program to run") }
        if name.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: name) else { throw Failure(description: "\(name) is not an executable file") }
            return name
        }
        let path = (environment + defaultEnvironment).first { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? ""
        for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
            return "\(directory)/\(name)"
        }
        throw Failure(description: "\(name) is not in PATH \(path)")
    }

    #if os(Linux)
    private static let cloneNewNet: Int32 = 0x4000_0000
    private static let cloneNewNS: Int32 = 0x0002_0000
    private static let bindFlag: UInt = 4096, recursive: UInt = 16384, slave: UInt = 1 << 19, remount: UInt = 32, readOnly: UInt = 1
    private static let setNoNewPrivileges: Int32 = 38

    private static func failure(_ what: String) -> Failure {
        Failure(description: "\(what): \(String(cString: strerror(errno)))")
    }

    /// A libc function Swift's Glibc module leaves out (it sits behind _GNU_SOURCE or a variadic prototype).
    private static func libc<T>(_ name: String, as type: T.Type) throws(Failure) -> T {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, name) else { throw Failure(description: "libc has no \(name)") }
        return unsafeBitCast(symbol, to: type)
    }

    private static func enterNetworkNamespace(_ name: String) throws(Failure) {
        guard !name.contains("/"), !name.isEmpty else { throw Failure(description: "bad network namespace name \(name)") }
        let fd = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("network namespace \(name)") }
        defer { close(fd) }
        let setns = try libc("setns", as: (@convention(c) (Int32, Int32) -> Int32).self)
        guard setns(fd, cloneNewNet) == 0 else { throw failure("entering network namespace \(name)") }
    }

    /// A mount namespace of its own whose mounts never reach the host's.
    private static func privateMounts() throws(Failure) {
        let unshare = try libc("unshare", as: (@convention(c) (Int32) -> Int32).self)
        guard unshare(cloneNewNS) == 0 else { throw failure("unshare of the mount namespace") }
        guard mount("none", "/", nil, recursive | slave, nil) == 0 else { throw failure("making / a slave mount") }
    }

    /// Makes `mount.path` exist, like the source (directory or file). A path missing on this machine
    /// is made inside an overlay of its nearest existing parent, whose upper layer lives on a tmpfs
    /// in `scratch`: only this container sees it.
    private static func makeMountPoint(_ mount: ContainerMount, scratch: String?, overlaid: inout Set<String>) throws(Failure) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: mount.source, isDirectory: &isDirectory) else { throw Failure(description: "mount source \(mount.source) does not exist") }
        if FileManager.default.fileExists(atPath: mount.path) { return }
        var parent = (mount.path as NSString).deletingLastPathComponent
        while !FileManager.default.fileExists(atPath: parent) { parent = (parent as NSString).deletingLastPathComponent }
        guard parent != "/" else { throw Failure(description: "cannot make mount point \(mount.path): no existing parent below /") }
        if !overlaid.contains(parent) {
            guard let scratch else { throw Failure(description: "mount point \(mount.path) does not exist and no --scratch directory was given to make it in") }
            try overlay(parent, scratch: scratch, layer: overlaid.count)
            overlaid.insert(parent)
        }
        let directory = isDirectory.boolValue ? mount.path : (mount.path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        } catch {
            throw Failure(description: "cannot make mount point \(mount.path): \(error.localizedDescription)")
        }
        if !isDirectory.boolValue, !FileManager.default.createFile(atPath: mount.path, contents: nil, attributes: [.posixPermissions: 0o644]) {
            throw Failure(description: "cannot make mount point \(mount.path)")
        }
    }

    private static func overlay(_ directory: String, scratch: String, layer: Int) throws(Failure) {
        if layer == 0 {
            guard Glibc.mount("tmpfs", scratch, "tmpfs", 0, "mode=0700") == 0 else { throw failure("tmpfs on \(scratch)") }
        }
        let upper = "\(scratch)/\(layer)/upper", work = "\(scratch)/\(layer)/work"
        for path in [upper, work] {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            } catch {
                throw Failure(description: "cannot make \(path): \(error.localizedDescription)")
            }
        }
        let options = "lowerdir=\(directory),upperdir=\(upper),workdir=\(work)"
        guard Glibc.mount("overlay", directory, "overlay", 0, options) == 0 else { throw failure("overlay on \(directory) for a mount point") }
    }

    private static func bind(_ mount: ContainerMount) throws(Failure) {
        guard Glibc.mount(mount.source, mount.path, nil, bindFlag | recursive, nil) == 0 else { throw failure("bind mount of \(mount.source) on \(mount.path)") }
        if mount.readOnly {
            guard Glibc.mount("none", mount.path, nil, remount | bindFlag | readOnly, nil) == 0 else { throw failure("read-only remount of \(mount.path)") }
        }
    }

    private static func become(user: Int, group: Int, noNewPrivileges: Bool) throws(Failure) {
        if user != 0 || group != 0 {
            guard setgroups(0, nil) == 0 else { throw failure("dropping supplementary groups") }
            guard setgid(gid_t(group)) == 0 else { throw failure("setgid \(group)") }
            guard setuid(uid_t(user)) == 0 else { throw failure("setuid \(user)") }
            guard getuid() == uid_t(user), geteuid() == uid_t(user) else { throw Failure(description: "still not uid \(user) after setuid") }
        }
        if noNewPrivileges {
            let prctl = try libc("prctl", as: (@convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32).self)
            guard prctl(setNoNewPrivileges, 1, 0, 0, 0) == 0 else { throw failure("no_new_privs") }
        }
    }
    #endif
}
