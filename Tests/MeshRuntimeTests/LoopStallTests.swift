import Foundation
@testable import MeshRuntime
import NIOCore
import MeshTesting
import NIOPosix
import Testing

/// The event-loop stall histogram of a running sidecar, read on its admin port (a `TestAddressBlock`): a
/// connection whose handler holds the sidecar's loop makes a stall at least as long.
@Suite(.timeLimit(.minutes(1)))
struct LoopStallTests {
    /// Holds the loop for `hold` on each read, then answers 200 and closes.
    final class LoopHoldingHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let hold: Duration

        init(hold: Duration) { self.hold = hold }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            Thread.sleep(forTimeInterval: Double(hold.components.attoseconds) / 1e18 + Double(hold.components.seconds))
            let answer = "HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nheld"
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(string: answer))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    @Test func aHandlerHoldingTheLoopShowsAsAStallOnTheAdminPort() async throws {
        try await MeshPair.run(block: try TestAddressBlock.lease()) { mesh in
            let before = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(before["runtime.event_loop_stall_us.le_inf"] == before["runtime.event_loop_stall_us.count"])
            // A listener on the sidecar's own loop, its reads marked like the data path's.
            let listener = try await ServerBootstrap.dataPath(group: mesh.client.driver.eventLoop, stalls: mesh.client.loopStalls)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(LoopHoldingHandler(hold: .milliseconds(40))) }
                }
                .bind(host: mesh.clientIP, port: 0).get()
            let held = try await MeshHTTP.request(host: mesh.clientIP, port: listener.localAddress!.port!, path: "/", timeout: .seconds(5))
            try await listener.close()
            #expect(held.body == "held")
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            let count = stats["runtime.event_loop_stall_us.count"] ?? 0
            // The 40 ms hold is past the 32,768 µs bucket: at least one stall above it.
            #expect(count - (stats["runtime.event_loop_stall_us.le_32768"] ?? 0) >= 1)
            #expect(stats["runtime.event_loop_stall_us.sum"] ?? 0 >= 40_000)
            let prometheus = try parsePrometheus(try await mesh.admin(mesh.clientIP, "/stats/prometheus").body)
            let infinity = prometheus.first { $0.name == "sidecar_runtime_event_loop_stall_us_bucket" && $0.labels["le"] == "+Inf" }
            #expect(infinity?.value ?? 0 >= 1)
        }
    }
}
