import NIOCore
import NIOHTTP1

/// Carries out `DownstreamPipelining` between the HTTP/1.1 request decoder and the listener's
/// handler (in place of NIO's `HTTPServerPipelineHandler`): requests pipelined behind the one in
/// progress wait for its response's end; reads are held back only while one waits. It also
/// checks each response head and trailers as they pass (`ResponseHeadCheck`, in place of NIO's
/// `NIOHTTPResponseHeadersValidator`) and writes each response part as bytes
/// (`HTTP1ResponseEncoder`, in place of NIO's `HTTPResponseEncoder`): one handler on the
/// response's way instead of three. A part that may not be sent fails its write with
/// `HTTPParserError.invalidHeaderToken`, which the listener's handler hears, and every later part
/// fails likewise.
final class DownstreamPipeliningHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = IOData

    private var state = DownstreamPipelining()
    /// A response part could not be sent: nothing more is written.
    private var refusing = false
    private var encoder = HTTP1ResponseEncoder()
    /// The `connection` header of the next response head, written after the head's own headers:
    /// the connection's own (keep-alive or close), which `DownstreamResponder` sets here instead
    /// of adding it to the upstream's head (a copy of its headers).
    var connectionHeader: String?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if state.received(unwrapInboundIn(data)) { context.fireChannelRead(data) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else { return context.fireErrorCaught(error) }
        if state.received(parserError) { context.fireErrorCaught(error) }
    }

    func read(context: ChannelHandlerContext) {
        if state.readRequested() { context.read() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        guard !refusing, ResponseHeadCheck.mayBeSent(part) else { return refuse(promise, context) }
        encode(part, promise: promise, context: context)
        guard case .end = part else { return }
        state.responseEnded()
        guard state.hasWaiting || state.readHeld else { return }
        deliverWaiting(context)
    }

    private func encode(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        let allocator = context.channel.allocator
        switch part {
        case .head(let head):
            let bytes = encoder.encode(head: head, connection: connectionHeader, allocator: allocator)
            connectionHeader = nil
            context.write(wrapOutboundOut(.byteBuffer(bytes)), promise: promise)
        case .body(let data):
            HTTP1Wire.writeBody(data, chunked: encoder.chunked, promise: promise, allocator: allocator) { bytes, promise in
                context.write(wrapOutboundOut(bytes), promise: promise)
            }
        case .end(let trailers):
            if let bytes = encoder.encodeEnd(trailers: trailers, allocator: allocator) {
                context.write(wrapOutboundOut(.byteBuffer(bytes)), promise: promise)
            } else if let promise {
                // Nothing to write; an empty write completes the promise in order with the others.
                context.write(wrapOutboundOut(.byteBuffer(allocator.buffer(capacity: 0))), promise: promise)
            }
        }
    }

    private func refuse(_ promise: EventLoopPromise<Void>?, _ context: ChannelHandlerContext) {
        promise?.fail(HTTPParserError.invalidHeaderToken)
        guard !refusing else { return }
        refusing = true
        context.fireErrorCaught(HTTPParserError.invalidHeaderToken)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.connectionClosed()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        for waiting in state.removeAllWaiting() { deliver(waiting, context) }
        if state.resumeRead() { context.read() }
    }

    /// The response ended: the next request that waited (up to its end) goes on, then a held read.
    private func deliverWaiting(_ context: ChannelHandlerContext) {
        var deliveredPart = false
        while let next = state.nextToDeliver() {
            if case .part = next { deliveredPart = true }
            deliver(next, context)
        }
        if deliveredPart { context.fireChannelReadComplete() }
        if state.resumeRead() { context.read() }
    }

    private func deliver(_ waiting: DownstreamPipelining.Waiting, _ context: ChannelHandlerContext) {
        switch waiting {
        case .part(let part): context.fireChannelRead(wrapInboundOut(part))
        case .parserError(let error): context.fireErrorCaught(error)
        }
    }
}
