@testable import MeshRuntime
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The data path's HTTP/1.1 client side without NIO's encoder and validator handlers: the bytes
/// `HTTP1RequestWriter` writes against NIO's `HTTPRequestEncoder` (the oracle), and the response
/// decoder told of each request before it reads (`UpstreamResponseDecoder`): an answer to HEAD
/// has no body, a request written while a response is delivered is known for the next one, and an
/// answer nobody asked for is an error.
@Suite struct HTTP1RequestWriterTests {
    struct Request: Sendable, CustomStringConvertible {
        var head: HTTPRequestHead
        var body: [String] = []
        var description: String { "\(head.method) \(head.uri) \(head.headers)" }
    }

    /// The bytes NIO's encoder writes for `request`.
    static func nio(_ request: Request) throws -> String {
        let channel = EmbeddedChannel(handler: HTTPRequestEncoder())
        defer { _ = try? channel.finish() }
        try channel.writeOutbound(HTTPClientRequestPart.head(request.head))
        for part in request.body { try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: part)))) }
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        return EmbeddedSidecar.drain(channel)
    }

    static func ours(_ request: Request) -> String {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        let writer = HTTP1RequestWriter()
        #expect(writer.writeHead(request.head, on: channel))
        for part in request.body { writer.writeBody(ByteBuffer(string: part), on: channel, flush: false) }
        writer.writeEnd(on: channel, flush: true)
        return EmbeddedSidecar.drain(channel)
    }

    static func head(_ method: HTTPMethod, uri: String = "/a", version: HTTPVersion = .http1_1, _ headers: HTTPHeaders = [:]) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: method, uri: uri, headers: headers)
    }

    static let requests: [Request] = [
        Request(head: head(.GET, ["host": "bookstore", "content-length": "0", "connection": "keep-alive"])),
        Request(head: head(.GET, ["host": "bookstore"])),
        Request(head: head(.GET, ["transfer-encoding": "chunked"]), body: ["abc", "defgh"]),
        Request(head: head(.POST, ["content-length": "8"]), body: ["abc", "defgh"]),
        Request(head: head(.POST, ["x-a": "b"]), body: ["abc", "", "defgh"]),
        Request(head: head(.PUT, ["transfer-encoding": "gzip", "x-a": "b"]), body: ["abc"]),
        Request(head: head(.PATCH, ["Content-Length": "3", "Transfer-Encoding": "chunked"]), body: ["abc"]),
        Request(head: head(.TRACE, ["content-length": "0", "transfer-encoding": "chunked"])),
        Request(head: head(.POST, version: .http1_0, ["x-a": "b"]), body: ["abc"]),
        Request(head: head(.RAW(value: "PURGE"), uri: "http://bookstore:14001/a?b=c")),
        Request(head: head(.DELETE, uri: "/a%20b", ["content-length": "0"])),
    ]

    @Test(arguments: HTTP1RequestWriterTests.requests)
    func theBytesAreNIOs(_ request: Request) throws {
        #expect(try Self.ours(request) == Self.nio(request))
    }

    @Test func aHeadThatMayNotBeSentIsNotWritten() throws {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        #expect(!HTTP1RequestWriter().writeHead(Self.head(.GET, uri: "/a b"), on: channel))
        channel.flush()
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
    }

    /// What the link hears: response parts, errors; `onHead` runs on each head (a request
    /// written while the response is delivered, as the engine does when it reuses the connection).
    final class Link: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        var seen: [String] = []
        var onHead: () -> Void = {}
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                seen.append("head \(head.status.code)")
                onHead()
            case .body(let part): seen.append("body \(String(buffer: part))")
            case .end: seen.append("end")
            }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            seen.append((error as? NIOHTTPDecoderError) == .unsolicitedResponse ? "unsolicited" : "error \(error)")
        }
    }

    static func connection() throws -> (EmbeddedChannel, HTTP1RequestWriter, Link) {
        let channel = EmbeddedChannel()
        let writer = HTTP1RequestWriter()
        let link = Link()
        try channel.pipeline.syncOperations.addDataPathHTTPClientHandlers(requests: writer)
        try channel.pipeline.syncOperations.addHandler(link)
        return (channel, writer, link)
    }

    @Test func theAnswerToHEADHasNoBodyAndTheNextAnswerIsReadAfterIt() throws {
        let (channel, writer, link) = try Self.connection()
        defer { _ = try? channel.finish() }
        #expect(writer.writeHead(Self.head(.HEAD), on: channel))
        #expect(writer.writeHead(Self.head(.GET), on: channel))
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"))
        #expect(link.seen == ["head 200", "end", "head 200", "body ok", "end"])
    }

    /// A request written while an answer is being delivered (the decoder is parsing) is told to
    /// the decoder before the next bytes: its answer is read, and nothing re-enters the parser.
    @Test func aRequestWrittenWhileAnAnswerIsDeliveredIsKnownForTheNextBytes() throws {
        let (channel, writer, link) = try Self.connection()
        defer { _ = try? channel.finish() }
        #expect(writer.writeHead(Self.head(.GET), on: channel))
        var written = 0
        link.onHead = {
            guard written == 0 else { return }
            written += 1
            _ = writer.writeHead(Self.head(.HEAD, uri: "/b"), on: channel)
        }
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx"))
        // No body: the decoder knows the request was a HEAD.
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n"))
        #expect(link.seen == ["head 200", "body x", "end", "head 200", "end"])
    }

    @Test func anAnswerNobodyAskedForIsAnError() throws {
        let (channel, _, link) = try Self.connection()
        defer { _ = try? channel.finish() }
        _ = try? channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"))
        #expect(link.seen == ["unsolicited"])
    }
}
