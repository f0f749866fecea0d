import MeshRuntime

/// The loopback blocks an `fsm up` end-to-end test numbers (`<network>.0` the controller and
/// outside helpers, `.1` the pods, `.2` the services: its assertions name them), leased for the
/// test's length (`LoopbackBlockLease`, DECISIONS 163): a second test run on the machine waits for
/// them instead of starting a second mesh on the same addresses and fixed ports.
struct UpAddressLease {
    private let leases: [LoopbackBlockLease]

    init(network: String) async throws {
        try await self.init(blocks: (0...2).map { "\(network).\($0)" })
    }

    /// Any /24s by their first three octets: `fsm up --pods netns`'s pod and service networks
    /// (`10.244.77`, `10.96.77`), which the host routes while the test runs.
    init(blocks: [String]) async throws {
        var leases: [LoopbackBlockLease] = []
        for block in blocks { leases.append(try await LoopbackBlockLease.acquire(block)) }
        self.leases = leases
    }

    func release() { leases.forEach { $0.release() } }
}
