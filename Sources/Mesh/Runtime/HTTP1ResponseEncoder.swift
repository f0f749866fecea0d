import NIOCore
import NIOHTTP1

/// HTTP/1.x response heads as bytes, the way NIO's `HTTPResponseEncoder` writes them (framing
/// headers included), for `DownstreamPipeliningHandler`, which unwraps every response part already:
/// one handler fewer on each part's way (DECISIONS 267). Unlike NIO's encoder it changes a head's
/// headers only when they need it, so the header array the part shares with the upstream's head
/// is not copied (NIO's removed `transfer-encoding` from every head with a `content-length`,
/// which copies the array each time). The connection's own `connection` header may come apart
/// from the head: the responder then leaves the upstream's head as it came.
///
/// Framing, as NIO's (`correctlyFrameTransportHeaders`): a status without a body (1xx, 204, 304)
/// loses `content-length` and `transfer-encoding`; with a `content-length` a `transfer-encoding`
/// goes; with neither, HTTP/1.1 gets `transfer-encoding: chunked` (written last, where NIO's
/// `replaceOrAdd` put it) and a chunked body; HTTP/1.0 gets neither, the close ends the body.
/// NIO's encoder suppressed the body of an answer to HEAD or CONNECT only when the request decoder
/// told it the methods, which ours never did (the listeners' decoder is made without it): the
/// sidecar relies on the upstream's framing there, as before.
struct HTTP1ResponseEncoder {
    /// The body of the response being written goes in chunks.
    private(set) var chunked = false

    /// The bytes of `head`; `connection`, if any, is written as a `connection` header after the
    /// head's own (where the responder used to add it).
    mutating func encode(head: HTTPResponseHead, connection: String?, allocator: ByteBufferAllocator) -> ByteBuffer {
        var headers = head.headers
        let framing = HTTP1Wire.frame(head.status.mayHaveResponseBody ? .yes : .no, version: head.version, headers: &headers)
        chunked = framing.chunked
        return HTTP1Wire.head(HTTP1Wire.versionText(head.version), String(head.status.code), head.status.reasonPhrase,
                              headers: headers, connection: connection, addsChunked: framing.addsChunked, allocator: allocator)
    }

    /// The bytes that end the response: the last chunk and trailers when chunked, else none.
    func encodeEnd(trailers: HTTPHeaders?, allocator: ByteBufferAllocator) -> ByteBuffer? {
        chunked ? HTTP1Wire.lastChunk(trailers: trailers, allocator: allocator) : nil
    }
}
