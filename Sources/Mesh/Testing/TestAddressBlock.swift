import MeshShell
import Synchronization

/// The loopback /24s (`127.150.7`: hosts `127.150.7.1`, `.2`, ...) that tests listen on when an
/// address other than 127.0.0.1 with port 0 is part of what they test (a sidecar's fixed ports
/// 15000-15003, a controller's 6060, a pod IP a config names). Every block is a free one of
/// 127.150-157.1-250, leased through `LoopbackBlockLease` (DECISIONS 163, 249), so tests running
/// at once in one process, and two test runs on one machine (two worktrees, or one binary run
/// twice), never number the same addresses and never wait for each other.
public enum TestAddressBlock {
    /// The networks test blocks are taken from (`127.<n>`); no test numbers an address in them by
    /// hand. Eight, so that two whole test runs at once (every test holding a block) fit.
    public static let networks = 150...157
    public static let blocks = 1...250

    /// A free block for one test: held until `release()` (or until the lease is dropped).
    public static func lease() throws(TestAddressBlockError) -> LoopbackBlockLease {
        let first = lastNetwork.withLock { $0 }
        for offset in 0..<networks.count {
            let network = networks.lowerBound + (first - networks.lowerBound + offset) % networks.count
            if let lease = try free(in: network) {
                lastNetwork.withLock { $0 = network }
                return lease
            }
        }
        throw TestAddressBlockError(text: "every test address block 127.\(networks.lowerBound)-\(networks.upperBound).\(blocks.lowerBound)-\(blocks.upperBound) is held")
    }

    private static func free(in network: Int) throws(TestAddressBlockError) -> LoopbackBlockLease? {
        do {
            return try LoopbackBlockLease.acquireFree(network: "127.\(network)", in: blocks)?.lease
        } catch {
            throw TestAddressBlockError(text: "cannot lease a test address block: \(error)")
        }
    }

    /// Runs `body` on a free block and gives the block back after it, whether it threw or not.
    public static func with<T>(_ body: (LoopbackBlockLease) async throws -> T) async throws -> T {
        let block = try lease()
        defer { block.release() }
        return try await body(block)
    }

    /// The block of `suite` (a suite whose tests share one set of addresses, such as the
    /// command-line suites that start commands on fixed ports): leased on its first use and held
    /// until the process exits.
    public static func suite(_ suite: String) throws(TestAddressBlockError) -> LoopbackBlockLease {
        try suiteLeases.withLock { leases throws(TestAddressBlockError) in
            if let held = leases[suite] { return held }
            let block = try lease()
            leases[suite] = block
            return block
        }
    }

    /// Fixed /24s a test must number (`fsm up --pods netns`'s pod and service networks, `10.244.77`
    /// and `10.96.77`, which the host routes while it runs), held until each is released: a second
    /// test run on the machine waits for them instead of finding them routed.
    public static func hold(_ fixed: [String]) async throws -> [LoopbackBlockLease] {
        var held: [LoopbackBlockLease] = []
        for block in fixed { held.append(try await LoopbackBlockLease.acquire(block)) }
        return held
    }

    private static let suiteLeases = Mutex<[String: LoopbackBlockLease]>([:])
    private static let lastNetwork = Mutex(networks.lowerBound)
}

/// No test address block could be leased.
public struct TestAddressBlockError: Error, CustomStringConvertible {
    public var text: String
    public var description: String { text }
}
