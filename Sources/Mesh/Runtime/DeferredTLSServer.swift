import Logging
import NIOCore

/// First handler of an inbound connection under mTLS: the TLS server handler is added only when
/// the peer's first TLS record (its ClientHello) has arrived whole. NIOSSL allocates a BoringSSL
/// connection and a 32 KiB plaintext buffer as soon as its handler is added, so thousands of
/// unauthenticated connections that open and say nothing, or drip a ClientHello, would cost that
/// much each; this way they cost a socket, a few small handlers and the bytes they sent. The
/// handshake deadline (`DownstreamDeadlines`) runs from the accept either way. A connection whose
/// first bytes are no TLS handshake (a client outside the mesh) goes on without TLS only when the
/// engine says an AccessControl may admit its address (`Sidecar.inboundPlaintextAdmissible`);
/// otherwise it is closed, as FSM's sidecar closes it (curl: exit 56).
final class DeferredTLSServer: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let driver: SidecarDriver
    /// What the peer sent so far (a copy the size of the bytes, not of the read buffer).
    private var received: ByteBuffer?

    init(driver: SidecarDriver) {
        self.driver = driver
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if received == nil { received = context.channel.allocator.buffer(capacity: incoming.readableBytes) }
        received!.writeBuffer(&incoming)
        guard DeferredTLSServer.firstRecordArrived(received!) else { return }
        if !DeferredTLSServer.isHandshakeRecord(received!) {
            // No TLS: a client outside the mesh. Only an AccessControl lets it in; the engine
            // decides for the port at its first request (peer identity nil).
            guard driver.inboundPlaintextAdmissible(from: context.channel) else {
                context.close(promise: nil)
                return
            }
            return stepAside(context)
        }
        do {
            try driver.addPeerTLSServer(to: context.pipeline.syncOperations, after: self)
        } catch {
            driver.logger.warning("cannot set up TLS on an inbound connection", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return
        }
        // The TLS handler (now next) reads these bytes, and the rest of the connection's bytes
        // without this handler in between.
        stepAside(context)
    }

    /// Hands the bytes read so far to the next handler and leaves the pipeline.
    private func stepAside(_ context: ChannelHandlerContext) {
        let bytes = received!
        received = nil
        context.fireChannelRead(wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// Whether the bytes start with a TLS handshake record (type 22).
    static func isHandshakeRecord(_ bytes: ByteBuffer) -> Bool {
        bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) == 22
    }

    /// Whether `bytes` hold the first TLS record whole, or show that they are no TLS handshake
    /// record (then TLS may refuse them at once). A record header is type (22: handshake),
    /// version (2 bytes) and length (2 bytes, at most 2^14 plus expansion).
    static func firstRecordArrived(_ bytes: ByteBuffer) -> Bool {
        guard let type = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return false }
        guard type == 22 else { return true }
        guard let length = bytes.getInteger(at: bytes.readerIndex + 3, as: UInt16.self) else { return false }
        return Int(length) > 16_384 + 2_048 || bytes.readableBytes >= 5 + Int(length)
    }
}
