#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The machine's cgroup v2 hierarchy: where it is mounted, moving a process into a directory of
/// it, and removing a directory with what still runs there. POSIX calls only (no Foundation: the
/// sidecar links this module).
public enum CgroupV2 {
    /// Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a
    /// hybrid machine); nil without one.
    public static func mountPoint() -> String? {
        // /proc files have no size up front; a mountinfo of 4 MiB is far beyond any real one.
        guard let bytes = try? InputFile.read("/proc/self/mountinfo", limit: 4 << 20, directoryHint: "", tooLarge: { "\($0) bytes" }) else {
            return nil
        }
        return mountPoint(inMountInfo: String(decoding: bytes, as: UTF8.self))
    }

    /// The mount point of the first `cgroup2` line of a /proc/PID/mountinfo text.
    public static func mountPoint(inMountInfo text: String) -> String? {
        for line in text.split(separator: "\n") {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPEROPTIONS
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count, fields.count > 4, fields[dash + 1] == "cgroup2" else { continue }
            return String(fields[4])
        }
        return nil
    }

    /// Moves the calling process into the cgroup directory `path` (its children follow it).
    public static func enter(_ path: String) throws(CgroupFailure) {
        let file = FilePaths.joined(path, "cgroup.procs")
        let descriptor = open(file, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw CgroupFailure(description: "cannot open \(file): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let pid = Array("\(getpid())".utf8)
        guard write(descriptor, pid, pid.count) == pid.count else { throw CgroupFailure(description: "cannot move into cgroup \(path): \(String(cString: strerror(errno)))") }
    }

    /// Makes the directory `path` (0755); one that exists already is fine.
    public static func create(_ path: String) throws(CgroupFailure) {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw CgroupFailure(description: "cannot make cgroup \(path): \(String(cString: strerror(errno)))") }
    }

    /// Kills what runs in `path` and below, then removes the directories, deepest first; false
    /// when `path` is still there after `wait` (the kill is asynchronous).
    @discardableResult
    public static func remove(_ path: String, wait: Duration = .seconds(2)) -> Bool {
        guard access(path, F_OK) == 0 else { return true }
        for child in (try? InputFile.listDirectory(path)) ?? [] {
            let full = FilePaths.joined(path, child)
            if InputFile.isDirectory(full) { remove(full, wait: wait) }
        }
        killProcesses(in: path)
        let deadline = ContinuousClock.now + wait
        repeat {
            if rmdir(path) == 0 || errno == ENOENT { return true }
            guard errno == EBUSY else { return false }
            usleep(10_000)
        } while ContinuousClock.now < deadline
        return false
    }

    /// Writes `1` to the directory's `cgroup.kill` (Linux 5.14 on); without it the removal waits.
    private static func killProcesses(in path: String) {
        let descriptor = open(FilePaths.joined(path, "cgroup.kill"), O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let one = [UInt8(ascii: "1")]
        _ = write(descriptor, one, one.count)
    }
}

/// A cgroup step that failed, in plain words.
public struct CgroupFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
}
