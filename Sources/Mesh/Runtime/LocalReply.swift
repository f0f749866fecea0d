import NIOCore
import NIOHTTP1

/// A whole answer the sidecar writes itself on a connection whose deadlines `timeouts` keeps (the
/// admin, Prometheus and probe listeners): head, body, end; the connection closes after it unless
/// kept alive, and a kept-alive one goes back to waiting for its next request.
enum LocalReply {
    /// Returns whether the connection is closing (nothing more is to be read from it).
    @discardableResult
    static func write(_ status: HTTPResponseStatus, contentType: String, body: String, keepAlive: Bool, includeBody: Bool = true,
                      timeouts: DownstreamTimeoutHandler?, context: ChannelHandlerContext) -> Bool {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: String(body.utf8.count))
        headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
        context.write(NIOAny(HTTPServerResponsePart.head(NIOHTTP1.HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if includeBody { context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil) }
        guard keepAlive else {
            let channel = context.channel
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            return true
        }
        timeouts?.requestEnded()
        timeouts?.responseFinished()
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
        return false
    }
}
