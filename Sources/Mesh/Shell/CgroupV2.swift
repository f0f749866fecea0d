import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The machine's cgroup v2 hierarchy: where it is mounted, moving a process into a directory of
/// it, and removing a directory with what still runs there.
public enum CgroupV2 {
    /// Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a
    /// hybrid machine); nil without one.
    public static func mountPoint() -> String? {
        (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)).flatMap(mountPoint(inMountInfo:))
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
        let file = (path as NSString).appendingPathComponent("cgroup.procs")
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
        guard FileManager.default.fileExists(atPath: path) else { return true }
        let children = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        for child in children {
            var isDirectory: ObjCBool = false
            let full = (path as NSString).appendingPathComponent(child)
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), isDirectory.boolValue { remove(full, wait: wait) }
        }
        try? "1".write(toFile: (path as NSString).appendingPathComponent("cgroup.kill"), atomically: false, encoding: .utf8)
        let deadline = ContinuousClock.now + wait
        repeat {
            if rmdir(path) == 0 || errno == ENOENT { return true }
            guard errno == EBUSY else { return false }
            usleep(10_000)
        } while ContinuousClock.now < deadline
        return false
    }
}

/// A cgroup step that failed, in plain words.
public struct CgroupFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
}
