import NIOCore
import NIOHTTP1

/// HTTP/1.x request heads as bytes, the way NIO's `HTTPRequestEncoder` writes them (framing
/// headers included), for the links that write requests upstream (`HTTP1RequestWriter`): no
/// encoder handler on each request part's way (DECISIONS 269), and a head's headers changed only
/// when the framing needs it (NIO's encoder removed `transfer-encoding` from every head with a
/// `content-length`, which copies the header array the head shares with the exchange's).
///
/// Framing, as NIO's (`correctlyFrameTransportHeaders` with the method's `hasRequestBody`): TRACE
/// loses `content-length` and `transfer-encoding`; with a `content-length` a `transfer-encoding`
/// goes; otherwise POST, PUT and PATCH over HTTP/1.1 get `transfer-encoding: chunked` (written
/// last, where NIO's `replaceOrAdd` put it) and a chunked body, and other methods are chunked only
/// when their head says `transfer-encoding: chunked` already.
struct HTTP1RequestEncoder {
    /// The body of the request being written goes in chunks.
    private(set) var chunked = false

    mutating func encode(head: HTTPRequestHead, allocator: ByteBufferAllocator) -> ByteBuffer {
        var headers = head.headers
        let framing = HTTP1Wire.frame(Self.body(of: head.method), version: head.version, headers: &headers)
        chunked = framing.chunked
        return HTTP1Wire.head(head.method.rawValue, head.uri, HTTP1Wire.versionText(head.version), headers: headers,
                              addsChunked: framing.addsChunked, allocator: allocator)
    }

    /// NIO's `HTTPMethod.hasRequestBody` (internal to NIOHTTP1).
    static func body(of method: HTTPMethod) -> HTTP1Wire.Body {
        switch method {
        case .TRACE: .no
        case .POST, .PUT, .PATCH: .yes
        default: .unlikely
        }
    }

    /// The bytes that end the request: the last chunk and trailers when chunked, else none.
    func encodeEnd(trailers: HTTPHeaders?, allocator: ByteBufferAllocator) -> ByteBuffer? {
        chunked ? HTTP1Wire.lastChunk(trailers: trailers, allocator: allocator) : nil
    }
}
