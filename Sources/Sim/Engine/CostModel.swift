/// The simulator's stated cost model: what a sidecar's work costs in CPU time and memory, and
/// the fixed delays that are not network latency. The per-request cost is calibrated against the
/// data-plane benchmark (docs/BENCHMARKS.md, "Simulator calibration"): the latency our two
/// sidecars add at 1000 QPS, measured with `make bench`, against the same shape simulated
/// (`bench/dataplane-calibration.yaml`); the other figures are modelled.
///
/// CPU (per sidecar):
/// - 160 µs per HTTP request the sidecar handles (each upstream attempt at the client's sidecar,
///   each inbound request at the server's sidecar, each locally answered request); calibrated on
///   2026-11-26: two sidecars added 0.38-0.42 ms at P50 over a direct call at c=2..64 and 1000 QPS
///   on 2 vCPU AMD EPYC, where the model had 0.14 ms with 30 µs;
/// - 10 µs per TCP call (24-byte echo) relayed;
/// - 2 µs per KiB of body the sidecar relays (modelled body sizes: the echo body, 24 B per TCP call);
/// - 50 µs per new connection (upstream or inbound).
/// The modelled CPU time of a hop is also added to the request's latency at that hop.
///
/// Memory (per sidecar, the peak over the run): 6 MiB base + 64 KiB per open connection
/// (upstream and inbound) + 4 × the size of the compact rendered configuration.
///
/// Fixed delays: a local hop (app ↔ its own sidecar over loopback) costs 20 µs; a message lost to
/// `network.loss` or a partition on an open connection makes the attempt fail with status 0 after
/// `lostMessageTimeout` (1 s, standing in for a read timeout); a lost handshake (or an address
/// nobody has) gets no answer at all, and the client sidecar's own connect timeout (the engine's,
/// from its config) ends the connect; a refused connection (dead pod, nothing listening) is
/// reported after one round trip.
enum CostModel {
    static let httpRequestCPU: Int64 = 160_000
    static let tcpCallCPU: Int64 = 10_000
    static let perKiBCPU: Int64 = 2_000
    static let newConnectionCPU: Int64 = 50_000

    static let baseMemory = 6 * 1024 * 1024
    static let perConnectionMemory = 64 * 1024
    static let configMemoryFactor = 4

    static let localHop: Int64 = 20_000
    static let lostMessageTimeout: Int64 = 1_000_000_000

    /// CPU for relaying `bytes` of body.
    @inline(__always)
    static func bodyCPU(bytes: Int) -> Int64 { Int64(bytes) * perKiBCPU / 1024 }
}
