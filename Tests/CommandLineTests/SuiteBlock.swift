import MeshRuntime
import Synchronization

/// A /24 of loopback addresses that one suite of this test process uses alone, leased through
/// `LoopbackBlockLease` (DECISIONS 163) on its first use and held until the process exits: the
/// commands it starts listen on fixed ports (a sidecar's 15000-15003, a controller's 6060), so
/// two test runs on one machine (two worktrees) must not number the same addresses.
enum SuiteBlock {
    private static let leases = Mutex<[String: LoopbackBlockLease]>([:])

    /// Host `host` of the block leased for `suite`.
    static func address(_ host: Int, of suite: String) throws -> String { try lease(of: suite).address(host) }

    /// The block leased for `suite`: the first free one of `network`.1-250.
    static func lease(of suite: String, network: String = "127.61") throws -> LoopbackBlockLease {
        try leases.withLock { leases throws(SuiteBlockError) in
            if let held = leases[suite] { return held }
            let lease: LoopbackBlockLease?
            do {
                lease = try LoopbackBlockLease.acquireFree(network: network, in: 1...250)?.lease
            } catch {
                throw SuiteBlockError(text: "\(suite): \(error)")
            }
            guard let lease else { throw SuiteBlockError(text: "\(suite): every block of \(network).1-250 is held by another run") }
            leases[suite] = lease
            return lease
        }
    }
}

struct SuiteBlockError: Error, CustomStringConvertible {
    var text: String
    var description: String { text }
}
