import NIOCore
import NIOHTTP1

/// The bytes HTTP/1.x messages share, written as NIO's encoders write them (`HTTP1ResponseEncoder`,
/// `HTTP1RequestEncoder`): header fields, a version, chunk framing and the last chunk.
enum HTTP1Wire {
    static let crlf: StaticString = "\r\n"

    static func writeField(_ name: String, _ value: String, into buffer: inout ByteBuffer) {
        buffer.writeString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString(crlf)
    }

    /// `HTTP/1.1`, `HTTP/1.0` or another version's digits.
    static func versionText(_ version: HTTPVersion) -> String {
        switch (version.major, version.minor) {
        case (1, 1): "HTTP/1.1"
        case (1, 0): "HTTP/1.0"
        default: "HTTP/\(version.major).\(version.minor)"
        }
    }

    /// The bytes `headers` take as fields (name, `: `, value, CRLF each).
    static func size(_ headers: HTTPHeaders) -> Int {
        var size = 0
        for (name, value) in headers { size += name.utf8.count + value.utf8.count + 4 }
        return size
    }

    /// Whether a message may have a body: NIO's `HTTPMethod.HasBody`.
    enum Body {
        case no
        case yes
        case unlikely
    }

    /// The framing of a head, as NIO's `correctlyFrameTransportHeaders`: without a body
    /// `content-length` and `transfer-encoding` go; with a `content-length` a `transfer-encoding`
    /// goes; otherwise HTTP/1.1 gets `transfer-encoding: chunked` (added after the other fields,
    /// where NIO's `replaceOrAdd` put it) when a body is expected, or stays chunked when it says so
    /// already. Framing headers are removed only where there are some to remove (a removal copies
    /// the header array the head shares). Returns whether the body goes chunked and whether the
    /// `transfer-encoding: chunked` field is to be added.
    static func frame(_ body: Body, version: HTTPVersion, headers: inout HTTPHeaders) -> (chunked: Bool, addsChunked: Bool) {
        guard body != .no else {
            removeIfPresent("content-length", from: &headers)
            removeIfPresent("transfer-encoding", from: &headers)
            return (false, false)
        }
        if headers.contains(name: "content-length") {
            removeIfPresent("transfer-encoding", from: &headers)
            return (false, false)
        }
        guard version.major == 1, version.minor >= 1 else { return (false, false) }
        guard body == .yes else { return (headers["transfer-encoding"].first == "chunked", false) }
        removeIfPresent("transfer-encoding", from: &headers)
        return (true, true)
    }

    private static func removeIfPresent(_ name: String, from headers: inout HTTPHeaders) {
        if headers.contains(name: name) { headers.remove(name: name) }
    }

    /// The bytes `Output.putFields` writes.
    static func fieldsSize(_ headers: HTTPHeaders, connection: String?, addsChunked: Bool) -> Int {
        size(headers) + (connection.map { $0.utf8.count + 14 } ?? 0) + (addsChunked ? 28 : 0) + 2
    }

    /// A head as bytes in one exactly sized write: the start line's three words (`GET /x HTTP/1.1`,
    /// `HTTP/1.1 200 OK`), then the header fields as `Output.putFields` writes them.
    static func head(_ first: String, _ second: String, _ third: String, headers: HTTPHeaders, connection: String? = nil,
                     addsChunked: Bool, allocator: ByteBufferAllocator) -> ByteBuffer {
        let size = first.utf8.count + second.utf8.count + third.utf8.count + 4
            + fieldsSize(headers, connection: connection, addsChunked: addsChunked)
        var buffer = allocator.buffer(capacity: size)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { bytes in
            var out = Output(bytes)
            out.put(first)
            out.put(byte: UInt8(ascii: " "))
            out.put(second)
            out.put(byte: UInt8(ascii: " "))
            out.put(third)
            out.put(crlf)
            out.putFields(headers, connection: connection, addsChunked: addsChunked)
            return out.count
        }
        return buffer
    }

    /// Writes a body part: as it is, or as a chunk (size line, the part, CRLF) when `chunked`;
    /// `promise` goes with the last write.
    static func writeBody(_ data: IOData, chunked: Bool, promise: EventLoopPromise<Void>?, allocator: ByteBufferAllocator,
                          write: (IOData, EventLoopPromise<Void>?) -> Void) {
        guard chunked, data.readableBytes > 0 else { return write(data, promise) }
        // The size line and the chunk's closing CRLF in one buffer, written as two slices (as NIO does).
        var framing = allocator.buffer(capacity: 32)
        framing.writeString(String(data.readableBytes, radix: 16))
        framing.writeStaticString(crlf)
        framing.writeStaticString(crlf)
        let sizeLine = framing.readSlice(length: framing.readableBytes - 2)!
        write(.byteBuffer(sizeLine), nil)
        write(data, nil)
        write(.byteBuffer(framing), promise)
    }

    /// The last chunk, with `trailers` if any.
    static func lastChunk(trailers: HTTPHeaders?, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard let trailers else {
            var buffer = allocator.buffer(capacity: 5)
            buffer.writeStaticString("0\r\n\r\n")
            return buffer
        }
        var buffer = allocator.buffer(capacity: size(trailers) + 5)
        buffer.writeStaticString("0\r\n")
        for (name, value) in trailers { writeField(name, value, into: &buffer) }
        buffer.writeStaticString(crlf)
        return buffer
    }
}
