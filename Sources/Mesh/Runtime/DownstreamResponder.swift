import MeshProxy
import NIOCore
import NIOHTTP1

/// The response half of a downstream HTTP/1.1 connection or HTTP/2 stream (seen through NIO's
/// HTTP/2-to-HTTP/1 codec), shared by the outbound and the inbound listener: answers the sidecar makes itself, responses streamed from upstream with backpressure,
/// and keep-alive or close at the end. Confined to its channel's event loop, like its handler.
/// A class, not a struct: its writes can re-enter the handler synchronously (a close fires
/// `channelInactive`), which must not overlap a mutating access to the responder.
final class DownstreamResponder {
    /// Whether the connection stays open after this response (the request's wish; never while draining).
    private var keepAlive = true
    /// Responses use the request's version (an HTTP/1.0 client gets no chunked encoding).
    private var version = HTTPVersion.http1_1
    /// A streamed response is in progress.
    private(set) var responding = false
    /// The request is a gRPC call: local answers become a gRPC status (`GRPCLocalReply`).
    private(set) var answersGRPC = false
    private var readPause = ReadPause()
    /// Told when a response ends on a connection that stays open (the idle deadline starts again).
    var timeouts: DownstreamTimeoutHandler?
    /// The HTTP/1.1 connection's encoder (nil on an HTTP/2 stream): it writes a streamed
    /// response's `connection` header, so that the upstream's head goes on unchanged.
    var encoder: DownstreamPipeliningHandler?

    /// A new request head arrived: answer it in its version, and keep the connection as it asks.
    func requestStarted(_ head: NIOHTTP1.HTTPRequestHead) {
        // An HTTP/2 stream ends with its response; the connection stays (`connection` is not an HTTP/2 header).
        keepAlive = head.version.major == 2 || head.isKeepAlive
        answersGRPC = GRPCLocalReply.isGRPC(contentType: head.headers.first(name: "content-type"))
        version = head.version.major == 1 && head.version.minor == 0 ? .http1_0 : .http1_1
    }

    /// The connection closes after the next response (a malformed request).
    func closeAfterResponse() { keepAlive = false }

    /// A response the sidecar makes itself; status 0 closes the connection without an answer.
    /// Returns whether a response was written (and so the request is over).
    func respondLocally(_ engineHead: MeshProxy.HTTPResponseHead, draining: Bool, context: ChannelHandlerContext) -> Bool {
        guard engineHead.status > 0 else {
            context.close(promise: nil)
            return false
        }
        var headers = HTTPHeaders()
        for header in engineHead.headers { headers.add(name: header.name, value: header.value) }
        let bodyBytes = engineHead.body.map { Array($0.utf8) } ?? []
        headers.replaceOrAdd(name: "content-length", value: String(bodyBytes.count))
        if draining { keepAlive = false }
        headers.replaceOrAdd(name: "connection", value: keepAlive ? "keep-alive" : "close")
        let head = NIOHTTP1.HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: engineHead.status), headers: headers)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        if !bodyBytes.isEmpty {
            context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(bytes: bodyBytes)))), promise: nil)
        }
        end(context)
        return true
    }

    /// The head of a response streamed from upstream (or the local app); its hop-by-hop headers
    /// are replaced by this connection's own. Without `flush` the caller flushes later (at the end
    /// of the upstream read that brought it), so head, body and end leave in one write.
    func startStream(_ upstreamHead: NIOHTTP1.HTTPResponseHead, draining: Bool, flush: Bool = true, context: ChannelHandlerContext) {
        responding = true
        // The head and its headers are shared with the upstream's part: each change copies them,
        // so only what differs changes (most answers are HTTP/1.1 with no hop-by-hop header).
        var head = upstreamHead
        if head.version != version { head.version = version }
        // One pass to see, instead of three removals.
        if head.headers.contains(where: { DownstreamResponder.isConnectionHeader($0.name) }) {
            for name in DownstreamResponder.connectionHeaders { head.headers.remove(name: name) }
        }
        if draining { keepAlive = false }
        let connection = keepAlive ? "keep-alive" : "close"
        if let encoder {
            encoder.connectionHeader = connection
        } else {
            head.headers.add(name: "connection", value: connection)
        }
        if !flush || head.headers.contains(name: "grpc-status") {
            // A gRPC trailers-only answer: its end follows at once and must leave in the same
            // HTTP/2 HEADERS frame (see `HTTP2HeadersCoalescer`), so no flush in between.
            context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        } else {
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        }
    }

    /// A body part from `source`; stops reading `source` while this connection cannot take more.
    /// Without `flush` the caller flushes later (see `startStream`).
    func streamBody(_ part: ByteBuffer, from source: any Channel, flush: Bool = true, context: ChannelHandlerContext) {
        guard responding else { return }
        if flush {
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(part))), promise: nil)
        } else {
            context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(part))), promise: nil)
        }
        readPause.afterWrite(into: context.channel, from: source)
    }

    /// The streamed response ended, with the upstream's trailers if any (gRPC's `grpc-status`).
    /// Returns whether one was in progress (and so the request is over).
    func finishStream(trailers: HTTPHeaders? = nil, context: ChannelHandlerContext?) -> Bool {
        readPause.resume()
        guard let context, responding else { return false }
        responding = false
        end(context, trailers: trailers)
        return true
    }

    /// The upstream failed mid-response: the downstream sees the connection close.
    func abortStream(context: ChannelHandlerContext?) {
        readPause.resume()
        responding = false
        context?.close(promise: nil)
    }

    /// The connection became writable again, or went away: let the source read again.
    func resumeSource() { readPause.resume() }

    private func end(_ context: ChannelHandlerContext, trailers: HTTPHeaders? = nil) {
        guard keepAlive else {
            let channel = context.channel
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(trailers))).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        // Before the write: it may hand a pipelined next request to the handler at once.
        timeouts?.responseFinished()
        // No promise: a kept-alive connection has nothing to do when the write completes.
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(trailers)), promise: nil)
    }

    /// Hop-by-hop headers of an upstream answer that this connection replaces with its own.
    static let connectionHeaders = ["connection", "keep-alive", "proxy-connection"]

    static func isConnectionHeader(_ name: String) -> Bool {
        connectionHeaders.contains { MeshHeaders.equalsIgnoringASCIICase(name, $0) }
    }
}
