import NIOCore

/// On a connection to the egress gateway, ahead of the relay: holds the gateway's answer to the
/// tunnel's `CONNECT` (`ConnectResponseReader`) back from the app, then passes on what follows and
/// leaves. A refusal closes the connection, so the app's side closes as a failed connect would
/// (`onRefused` reports it first).
final class EgressTunnelHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var reader = ConnectResponseReader()
    private let onRefused: (_ status: Int?) -> Void

    init(onRefused: @escaping (_ status: Int?) -> Void) {
        self.onRefused = onRefused
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        switch reader.feed(buffer.readableBytesView) {
        case .incomplete:
            break
        case .established(let rest):
            if !rest.isEmpty { context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: rest))) }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        case .refused(let status):
            onRefused(status)
            context.close(promise: nil)
        }
    }
}
