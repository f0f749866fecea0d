import NIOCore
import NIOHTTP1

/// The request side of one HTTP/1.1 client connection on the data path (a link to a peer sidecar,
/// `UpstreamLink`, or to the local app, `AppLink`): writes each request's head, body and end as
/// bytes (`HTTP1RequestEncoder`) straight to the connection's socket side, checking each head
/// first (`ForwardedRequestCheck`), and keeps the heads written for the response decoder
/// (`UpstreamResponseDecoder`), which must know each request's method (no body in an answer to
/// HEAD). In place of NIO's request encoder and validator handlers and the decoder's observing of
/// every write: no handler between the link and the socket on a request's way (DECISIONS 269).
/// Confined to its channel's event loop.
final class HTTP1RequestWriter {
    private var encoder = HTTP1RequestEncoder()
    /// Heads written whose answers the decoder has not been told of yet, oldest first.
    private var unannounced = CircularBuffer<HTTPRequestHead>(initialCapacity: 2)

    /// Writes `head` (not flushed); false: it may not be sent, nothing was written.
    func writeHead(_ head: HTTPRequestHead, on channel: any Channel) -> Bool {
        guard ForwardedRequestCheck.mayBeSent(head) else { return false }
        let bytes = encoder.encode(head: head, allocator: channel.allocator)
        unannounced.append(head)
        channel.write(bytes, promise: nil)
        return true
    }

    func writeBody(_ part: ByteBuffer, on channel: any Channel, flush: Bool) {
        HTTP1Wire.writeBody(.byteBuffer(part), chunked: encoder.chunked, promise: nil, allocator: channel.allocator) { bytes, _ in
            channel.write(bytes, promise: nil)
        }
        if flush { channel.flush() }
    }

    func writeEnd(on channel: any Channel, flush: Bool) {
        if let bytes = encoder.encodeEnd(trailers: nil, allocator: channel.allocator) { channel.write(bytes, promise: nil) }
        if flush { channel.flush() }
    }

    /// Tells `decoder` of the heads written since it last heard: called by the decoder before it
    /// reads bytes (never while it parses, which a head written from within a response's
    /// delivery would otherwise meet), so it knows every request whose answer the bytes may hold.
    func announce(to decoder: HTTPResponseDecoder) {
        while let head = unannounced.popFirst() { decoder.write(data: .head(head)) }
    }
}
