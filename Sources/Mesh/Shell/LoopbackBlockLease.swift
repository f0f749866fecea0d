#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A block of loopback addresses (`127.82.7`: the pods `127.82.7.1`, `.2`, ...) that this process
/// holds while it runs pods on it, so that two runs on one machine (two test runs in two worktrees,
/// two `sim --real`) never bind the same addresses. The hold is an exclusive `flock` on
/// `<directory>/<block>.lock`: the kernel releases it when the descriptor closes, the process
/// included, so a run that crashed leaves no stale lease behind. Leases in one process exclude
/// each other too (each opens its own descriptor).
public final class LoopbackBlockLease: Sendable {
    /// The first three octets, `127.82.7`.
    public let block: String
    private let descriptor: Mutex<Int32>

    public static let defaultDirectory = "/tmp/fsm-test-subnets"

    private init(block: String, descriptor: Int32) {
        self.block = block
        self.descriptor = Mutex(descriptor)
    }

    deinit { release() }

    /// The pod address `<block>.<host>`.
    public func address(_ host: Int) -> String { "\(block).\(host)" }

    /// Gives the block back (also when the lease is dropped).
    public func release() {
        let fd = descriptor.withLock { fd in
            defer { fd = -1 }
            return fd
        }
        if fd >= 0 { close(fd) }
    }

    /// `block` if no one holds it, else nil.
    public static func tryAcquire(_ block: String, directory: String = defaultDirectory) throws(LoopbackLeaseError) -> LoopbackBlockLease? {
        if mkdir(directory, 0o755) != 0, errno != EEXIST {
            throw LoopbackLeaseError(path: directory, operation: "create the directory", errno: errno)
        }
        let path = "\(directory)/\(block).lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LoopbackLeaseError(path: path, operation: "open", errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { return nil }
            throw LoopbackLeaseError(path: path, operation: "lock", errno: code)
        }
        return LoopbackBlockLease(block: block, descriptor: fd)
    }

    /// The first free block `<network>.<n>` for `n` in `range`, starting after the one this
    /// process leased last (a block just given back may still have sockets closing on it).
    /// Nil when every block is held.
    public static func acquireFree(network: String, in range: ClosedRange<Int>, directory: String = defaultDirectory)
        throws(LoopbackLeaseError) -> (number: Int, lease: LoopbackBlockLease)? {
        let start = lastLeased.withLock { $0 }
        for offset in 1...range.count {
            let number = range.lowerBound + (start - range.lowerBound + offset + range.count) % range.count
            if let lease = try tryAcquire("\(network).\(number)", directory: directory) {
                lastLeased.withLock { $0 = number }
                return (number, lease)
            }
        }
        return nil
    }

    /// `block`, waiting (polling every 50 ms) while another run holds it.
    public static func acquire(_ block: String, directory: String = defaultDirectory) async throws -> LoopbackBlockLease {
        while true {
            if let lease = try tryAcquire(block, directory: directory) { return lease }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    private static let lastLeased = Mutex(0)
}

/// A lease's lock file could not be made or locked.
public struct LoopbackLeaseError: Error, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var errno: Int32

    public var description: String {
        "cannot \(operation) \(path): \(String(cString: strerror(errno)))"
    }
}
