import NIOCore
import NIOHTTP1

/// HTTP/1.x response parts as bytes, the way NIO's `HTTPResponseEncoder` writes them (framing
/// headers included), for `DownstreamPipeliningHandler`, which unwraps every response part already:
/// one handler fewer on each part's way (DECISIONS 267). Unlike NIO's encoder it changes a head's
/// headers only when they need it, so the header array the part shares with the upstream's head
/// is not copied (NIO's removed `transfer-encoding` from every head with a `content-length`,
/// which copies the array each time). The connection's own `connection` header may come apart
/// from the head: the responder then leaves the upstream's head as it came.
///
/// Framing, as NIO's (`correctlyFrameTransportHeaders`): a status without a body (1xx, 204, 304)
/// loses `content-length` and `transfer-encoding`; with a `content-length` a `transfer-encoding`
/// goes; with neither, HTTP/1.1 gets `transfer-encoding: chunked` (written last, as NIO's
/// `replaceOrAdd` put it) and a chunked body; HTTP/1.0 gets neither, the close ends the body.
/// NIO's encoder suppressed the body of an answer to HEAD or CONNECT only when the request decoder
/// told it the methods, which ours never did (the listeners' decoder is made without it): the
/// sidecar relies on the upstream's framing there, as before.
struct HTTP1ResponseEncoder {
    /// The body of the response being written goes in chunks.
    private(set) var chunked = false

    static let crlf: StaticString = "\r\n"

    /// The bytes of `head`; `connection`, if any, is written as a `connection` header after the
    /// head's own (where the responder used to add it).
    mutating func encode(head: HTTPResponseHead, connection: String?, allocator: ByteBufferAllocator) -> ByteBuffer {
        var headers = head.headers
        let addsChunked = frame(status: head.status, version: head.version, headers: &headers)
        var buffer = allocator.buffer(capacity: Self.size(headers, connection: connection))
        Self.writeStatusLine(head.version, head.status, into: &buffer)
        for (name, value) in headers { Self.writeField(name, value, into: &buffer) }
        if let connection { Self.writeField("connection", connection, into: &buffer) }
        if addsChunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        buffer.writeStaticString(Self.crlf)
        return buffer
    }

    /// Sets `chunked`; returns whether `transfer-encoding: chunked` is to be written after the
    /// headers. Removes framing headers only where there are some to remove.
    private mutating func frame(status: HTTPResponseStatus, version: HTTPVersion, headers: inout HTTPHeaders) -> Bool {
        chunked = false
        guard status.mayHaveResponseBody else {
            Self.removeIfPresent("content-length", from: &headers)
            Self.removeIfPresent("transfer-encoding", from: &headers)
            return false
        }
        if headers.contains(name: "content-length") {
            Self.removeIfPresent("transfer-encoding", from: &headers)
            return false
        }
        guard version.major == 1, version.minor >= 1 else { return false }
        Self.removeIfPresent("transfer-encoding", from: &headers)
        chunked = true
        return true
    }

    private static func removeIfPresent(_ name: String, from headers: inout HTTPHeaders) {
        if headers.contains(name: name) { headers.remove(name: name) }
    }

    /// The size of a head with `headers`, so that its buffer is allocated once.
    private static func size(_ headers: HTTPHeaders, connection: String?) -> Int {
        // Status line, `connection: ` and its CRLF, `transfer-encoding: chunked` CRLF, final CRLF.
        var size = 64 + (connection.map { $0.utf8.count + 14 } ?? 0) + 28 + 2
        for (name, value) in headers { size += name.utf8.count + value.utf8.count + 4 }
        return size
    }

    static func writeStatusLine(_ version: HTTPVersion, _ status: HTTPResponseStatus, into buffer: inout ByteBuffer) {
        switch (version.major, version.minor) {
        case (1, 1): buffer.writeStaticString("HTTP/1.1 ")
        case (1, 0): buffer.writeStaticString("HTTP/1.0 ")
        default: buffer.writeString("HTTP/\(version.major).\(version.minor) ")
        }
        buffer.writeString(String(status.code))
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString(crlf)
    }

    static func writeField(_ name: String, _ value: String, into buffer: inout ByteBuffer) {
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString(crlf)
    }

    /// The size line of a chunk of `size` bytes, followed by the CRLF that ends the chunk: write
    /// the buffer, the chunk, then the buffer's last two bytes (as NIO's encoder does).
    static func chunkFraming(size: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 32)
        buffer.writeString(String(size, radix: 16))
        buffer.writeStaticString(crlf)
        buffer.writeStaticString(crlf)
        return buffer
    }

    /// The bytes that end the response: the last chunk and trailers when chunked, else nothing.
    func encodeEnd(trailers: HTTPHeaders?, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard chunked else { return nil }
        guard let trailers else {
            var buffer = allocator.buffer(capacity: 5)
            buffer.writeStaticString("0\r\n\r\n")
            return buffer
        }
        var buffer = allocator.buffer(capacity: Self.size(trailers, connection: nil))
        buffer.writeStaticString("0\r\n")
        for (name, value) in trailers { Self.writeField(name, value, into: &buffer) }
        buffer.writeStaticString(Self.crlf)
        return buffer
    }
}
