import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The bpf-filesystem directory an interceptor pins its programs and maps in, claimed with a lock
/// (`/run/fsm-interceptor/<dir>.lock`, holding the owner's pid) so a second interceptor on the same
/// directory is refused by name. Pins left by an interceptor that was killed are removed.
struct PinDirectory {
    static let lockDirectory = "/run/fsm-interceptor"
    let path: String
    let lockPath: String
    private let lockDescriptor: Int32

    private init(path: String, lockPath: String, lockDescriptor: Int32) {
        self.path = path
        self.lockPath = lockPath
        self.lockDescriptor = lockDescriptor
    }

    static func claim(_ path: String, logger: Logger) throws(InterceptorError) -> PinDirectory {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        guard trimmed.hasPrefix("/"), trimmed.split(separator: "/").count >= 2, !trimmed.contains(".") else {
            throw InterceptorError("--pin-dir \(path): expected an absolute directory on a bpf filesystem without a dot in its path (bpffs refuses dotted names), such as /sys/fs/bpf/fsm")
        }
        try mountBPFFilesystemIfNeeded(parent: parent(of: trimmed), logger: logger)
        let (lockPath, descriptor) = try lock(trimmed)
        let directory = PinDirectory(path: trimmed, lockPath: lockPath, lockDescriptor: descriptor)
        if access(trimmed, F_OK) == 0 {
            logger.notice("removing pins left by an interceptor that did not stop cleanly", metadata: ["pin_dir": "\(trimmed)"])
            directory.removeEntries()
            rmdir(trimmed)
        }
        guard mkdir(trimmed, 0o700) == 0 else {
            let code = errno
            directory.unlock()
            throw .system("cannot create the pin directory \(trimmed)", errno: code)
        }
        return directory
    }

    /// The path of the pin called `name`; the bpf filesystem refuses names with a dot (EPERM), so
    /// an address in one is written with underscores.
    func pin(_ name: String) -> String { "\(path)/\(name.replacingDots())" }

    /// Unpins everything, removes the directory, and gives up the lock.
    func release() {
        removeEntries()
        rmdir(path)
        unlock()
    }

    private func removeEntries() {
        guard let directory = opendir(path) else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != ".", name != ".." { unlink("\(path)/\(name)") }
        }
    }

    private func unlock() {
        unlink(lockPath)
        close(lockDescriptor)
    }

    private static func parent(of path: String) -> String {
        let components = path.split(separator: "/").dropLast()
        return "/" + components.joined(separator: "/")
    }

    /// /sys/fs/bpf is mounted by systemd on most machines, not in every container: mount it there;
    /// anywhere else the user chose the directory, so say what is wrong.
    private static func mountBPFFilesystemIfNeeded(parent: String, logger: Logger) throws(InterceptorError) {
        let kind = InterceptorPreflight.kind(of: parent)
        if kind == .bpf { return }
        guard parent == "/sys/fs/bpf", kind != .missing else {
            throw InterceptorError("\(parent) is not a bpf filesystem: give --pin-dir under one (mount -t bpf bpf /sys/fs/bpf)")
        }
        guard mount("bpf", parent, "bpf", 0, "mode=0700") == 0 else {
            throw .system("cannot mount a bpf filesystem on \(parent)", errno: errno)
        }
        logger.notice("mounted a bpf filesystem", metadata: ["path": "\(parent)"])
    }

    private static func lock(_ path: String) throws(InterceptorError) -> (String, Int32) {
        if mkdir(lockDirectory, 0o700) != 0, errno != EEXIST {
            throw .system("cannot create \(lockDirectory)", errno: errno)
        }
        let lockPath = "\(lockDirectory)/\(path.split(separator: "/").joined(separator: "_")).lock"
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .system("cannot open \(lockPath)", errno: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let owner = ProcText.read(lockPath)?.trimmingEdges(of: " \n") ?? "?"
            close(descriptor)
            throw InterceptorError("another fsm interceptor (pid \(owner)) is using \(path); stop it first (kill -TERM \(owner)) or give another --pin-dir")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return (lockPath, descriptor)
    }
}

extension String {
    func replacingDots() -> String { String(map { $0 == "." ? "_" : $0 }) }
}
