import Foundation
@testable import MeshRuntime
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The downstream's response encoding (`HTTP1ResponseEncoder`, written by
/// `DownstreamPipeliningHandler`) against NIO's `HTTPResponseEncoder`, which it replaces: the same
/// bytes for each kind of response (framing headers included), and the connection's own
/// `connection` header where the responder used to add it to the head.
@Suite struct HTTP1ResponseEncoderTests {
    /// The bytes NIO's encoder writes for `parts`.
    static func nio(_ parts: [HTTPServerResponsePart]) throws -> String {
        let channel = EmbeddedChannel(handler: HTTPResponseEncoder())
        defer { _ = try? channel.finish() }
        for part in parts { try channel.writeOutbound(part) }
        return EmbeddedSidecar.drain(channel)
    }

    /// The bytes the pipelining handler writes for `parts`, answering one request; `connection`:
    /// the responder's `connection` header, set on the handler before the head.
    static func ours(_ parts: [HTTPServerResponsePart], connection: String? = nil) throws -> String {
        let handler = DownstreamPipeliningHandler()
        let channel = EmbeddedChannel(handler: handler)
        defer { _ = try? channel.finish() }
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        handler.connectionHeader = connection
        for part in parts { try channel.writeOutbound(part) }
        return EmbeddedSidecar.drain(channel)
    }

    static func head(_ status: HTTPResponseStatus = .ok, version: HTTPVersion = .http1_1, _ headers: HTTPHeaders = [:]) -> HTTPServerResponsePart {
        .head(HTTPResponseHead(version: version, status: status, headers: headers))
    }

    static let body = HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "hello, world")))

    @Test(arguments: [
        ("content-length", [HTTP1ResponseEncoderTests.head(.ok, ["content-length": "12", "x-a": "b"]), HTTP1ResponseEncoderTests.body, .end(nil)]),
        ("chunked, as NIO frames a body of unknown length", [HTTP1ResponseEncoderTests.head(.ok, ["x-a": "b"]), HTTP1ResponseEncoderTests.body, HTTP1ResponseEncoderTests.body, .end(nil)]),
        ("chunked with trailers", [HTTP1ResponseEncoderTests.head(.ok, ["content-type": "application/grpc"]), HTTP1ResponseEncoderTests.body, .end(["grpc-status": "0", "grpc-message": "ok"])]),
        ("an upstream's transfer-encoding replaced", [HTTP1ResponseEncoderTests.head(.ok, ["transfer-encoding": "gzip", "x-a": "b"]), HTTP1ResponseEncoderTests.body, .end(nil)]),
        ("transfer-encoding beside content-length dropped", [HTTP1ResponseEncoderTests.head(.ok, ["Transfer-Encoding": "chunked", "Content-Length": "12"]), HTTP1ResponseEncoderTests.body, .end(nil)]),
        ("HTTP/1.0 without a length", [HTTP1ResponseEncoderTests.head(.ok, version: .http1_0, ["x-a": "b"]), HTTP1ResponseEncoderTests.body, .end(nil)]),
        ("204 loses its framing headers", [HTTP1ResponseEncoderTests.head(.noContent, ["content-length": "0", "transfer-encoding": "chunked", "x-a": "b"]), .end(nil)]),
        ("304", [HTTP1ResponseEncoderTests.head(.notModified, ["etag": "\"1\"", "content-length": "40"]), .end(nil)]),
        ("100 Continue, then the answer", [HTTP1ResponseEncoderTests.head(.continue), HTTP1ResponseEncoderTests.head(.created, ["content-length": "12"]), HTTP1ResponseEncoderTests.body, .end(nil)]),
        ("custom reason phrase", [HTTP1ResponseEncoderTests.head(.custom(code: 299, reasonPhrase: "Fine Thanks"), ["content-length": "0"]), .end(nil)]),
        ("a code without a phrase", [HTTP1ResponseEncoderTests.head(HTTPResponseStatus(statusCode: 599), ["content-length": "0"]), .end(nil)]),
        ("an empty body part while chunked", [HTTP1ResponseEncoderTests.head(.ok), .body(.byteBuffer(ByteBuffer())), HTTP1ResponseEncoderTests.body, .end(nil)]),
    ] as [(String, [HTTPServerResponsePart])])
    func theBytesAreNIOs(_ name: String, _ parts: [HTTPServerResponsePart]) throws {
        #expect(try Self.ours(parts) == Self.nio(parts), "\(name)")
    }

    /// The responder's `connection` header comes where it added it to the head: after the head's
    /// own headers, before a `transfer-encoding` the framing adds.
    @Test func theConnectionHeaderIsWrittenWhereTheResponderAddedIt() throws {
        for headers: HTTPHeaders in [["content-length": "12", "x-a": "b"], ["x-a": "b"]] {
            var withConnection = headers
            withConnection.add(name: "connection", value: "keep-alive")
            let ours = try Self.ours([Self.head(.ok, headers), Self.body, .end(nil)], connection: "keep-alive")
            #expect(try ours == Self.nio([Self.head(.ok, withConnection), Self.body, .end(nil)]))
        }
    }

    /// Only the next head gets it.
    @Test func theConnectionHeaderGoesWithOneHead() throws {
        let parts = [Self.head(.ok, ["content-length": "0"]), .end(nil), Self.head(.ok, ["content-length": "0"]), .end(nil)]
        let text = try Self.ours(parts, connection: "close")
        #expect(text.components(separatedBy: "connection: close").count == 2)
    }

    /// The end's promise completes when nothing is written for it (a length-framed answer),
    /// as `DownstreamResponder` closes the connection after it.
    @Test func anEndWithNothingToWriteCompletesItsPromise() throws {
        let channel = EmbeddedChannel(handler: DownstreamPipeliningHandler())
        defer { _ = try? channel.finish() }
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try channel.writeOutbound(Self.head(.ok, ["content-length": "0"]))
        let end = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        try end.wait()
        #expect(EmbeddedSidecar.drain(channel).hasSuffix("content-length: 0\r\n\r\n"))
    }
}
