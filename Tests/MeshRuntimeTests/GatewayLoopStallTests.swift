import Foundation
import MeshModel
import MeshProxy
import MeshRuntime
import MeshShell
import MeshTesting
import NIOCore
import Testing
@testable import MeshRuntime

/// The gateway's event-loop stall histogram (DECISIONS 237), read on its admin port: a request
/// whose engine decision holds the loop shows as a stall at least as long, in `/stats` and in
/// `/metrics`. Only "lands in a bucket at or above the hold" is asserted, never a duration.
@Suite(.timeLimit(.minutes(1)))
struct GatewayLoopStallTests {
    @Test func aDecisionHoldingTheLoopShowsAsAStallOnTheAdminPort() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let ip = block.address(1)
        try await GatewayFixtures.run(ip, engine: ScriptedGatewayEngine()) { gateway in
            try await gateway.onLoop { driver in
                driver.sidecar.gatewayEntry = { _, id, _, _, _, _, _ in
                    Thread.sleep(forTimeInterval: 0.04)
                    return [.respond(id, MeshProxy.HTTPResponseHead(status: 200, body: "held\n"), local: nil, flags: [])]
                }
            }
            _ = await gateway.apply(GatewayFixtures.config(version: "v1", [GatewayConfig.Listener(name: "web", port: 8001, protocol: .http)]))
            let before = parseStats(try await GatewayFixtures.admin(ip, "/stats").body)
            #expect(before["runtime.event_loop_stall_us.count"] != nil)
            let held = try await MeshHTTP.request(host: ip, port: 8001, path: "/", timeout: .seconds(5))
            #expect(held.body == "held\n")
            let stats = parseStats(try await GatewayFixtures.admin(ip, "/stats").body)
            let count = stats["runtime.event_loop_stall_us.count"] ?? 0
            // The 40 ms hold is past the 32,768 µs bucket: at least one stall above it.
            #expect(count - (stats["runtime.event_loop_stall_us.le_32768"] ?? 0) >= 1)
            #expect(stats["runtime.event_loop_stall_us.sum"] ?? 0 >= 40_000)
            let prometheus = try parsePrometheus(try await GatewayFixtures.admin(ip, "/metrics").body)
            let infinity = prometheus.first { $0.name == "sidecar_runtime_event_loop_stall_us_bucket" && $0.labels["le"] == "+Inf" }
            #expect(infinity?.value ?? 0 >= 1)
        }
    }
}
