@testable import MeshRealMode
import NIOCore
import NIOEmbedded
import Testing

/// The CONNECT that starts an https:// request from a meshed pod in `sim --real` (DECISIONS 230),
/// on an EmbeddedChannel standing for the connection to the sidecar.
@Suite struct RealConnectTunnelTests {
    /// Stands for the TLS and HTTP handlers the tunnel installs once answered.
    final class Installed: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
    }

    /// A connected channel with the tunnel in it; the CONNECT it wrote; its outcome so far.
    static func start(requestID: String? = "r-1") throws -> (channel: EmbeddedChannel, connect: String, outcome: () -> Result<Void, any Error>?) {
        let channel = EmbeddedChannel()
        let established = channel.eventLoop.makePromise(of: Void.self)
        var outcome: Result<Void, any Error>?
        established.futureResult.whenComplete { outcome = $0 }
        let tunnel = RealConnectTunnel(authority: "httpbin.org:443", requestID: requestID, established: established) { try $0.addHandler(Installed()) }
        try channel.pipeline.syncOperations.addHandler(tunnel)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 15001)).wait()
        let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        return (channel, String(buffer: written), { outcome })
    }

    @Test func anAnsweredTunnelInstallsTheTLSAndPassesOnWhatFollowed() throws {
        let (channel, connect, outcome) = try Self.start()
        #expect(connect == "CONNECT httpbin.org:443 HTTP/1.1\r\nhost: httpbin.org:443\r\nx-request-id: r-1\r\n\r\n")
        // Half an answer: nothing yet.
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 Connection"))
        #expect(outcome() == nil)
        try channel.writeInbound(ByteBuffer(string: " Established\r\n\r\n\u{16}\u{03}"))
        #expect(throws: Never.self) { try outcome()?.get() }
        #expect(outcome() != nil)
        // The handlers behind it are in, the tunnel left, and the bytes after the answer went on.
        #expect(throws: Never.self) { try channel.pipeline.syncOperations.context(handlerType: Installed.self) }
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.context(handlerType: RealConnectTunnel.self) }
        #expect(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) } == "\u{16}\u{03}")
        _ = try? channel.finish()
    }

    @Test func aRefusedTunnelFailsAndClosesWithNothingInstalled() throws {
        let (channel, connect, outcome) = try Self.start(requestID: nil)
        #expect(!connect.contains("x-request-id"))
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n"))
        guard case .failure(let error)? = outcome(), case .refused(let status)? = error as? RealConnectTunnel.Failure else {
            Issue.record("not refused: \(String(describing: outcome()))")
            return
        }
        #expect(status == 403)
        #expect(!channel.isActive)
        #expect(throws: (any Error).self) { try channel.pipeline.syncOperations.context(handlerType: Installed.self) }
    }

    @Test func aTunnelClosedBeforeItsAnswerFails() throws {
        let (channel, _, outcome) = try Self.start()
        channel.pipeline.fireChannelInactive()
        guard case .failure(let error)? = outcome(), case .closedBeforeAnswer? = error as? RealConnectTunnel.Failure else {
            Issue.record("did not fail: \(String(describing: outcome()))")
            return
        }
        _ = try? channel.finish()
    }
}
