import MeshRuntime
import NIOCore

/// The start of an `https://` connection from a meshed pod in local mode, as curl behind an HTTP
/// proxy (`curl -x`) makes it: `CONNECT host:port` to the pod's sidecar, whose answer is read off
/// (`ConnectResponseReader`) before `install` puts the TLS and HTTP handlers behind this one,
/// which then leaves (DECISIONS 230). Any other answer, or the connection closed first, fails
/// `established`: the request ends with status 0 and no TLS failure, as curl's exit 56.
final class RealConnectTunnel: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Failure: Error {
        /// The sidecar's answer (nil: no HTTP response).
        case refused(status: Int?)
        case closedBeforeAnswer
    }

    private let request: String
    private let install: (ChannelPipeline.SynchronousOperations) throws -> Void
    private let established: EventLoopPromise<Void>
    private var reader = ConnectResponseReader()
    private var answered = false

    /// `requestID`: the request's `x-request-id`, so the sidecar's log line of a refusal names it.
    init(authority: String, requestID: String?, established: EventLoopPromise<Void>, install: @escaping (ChannelPipeline.SynchronousOperations) throws -> Void) {
        var request = "CONNECT \(authority) HTTP/1.1\r\nhost: \(authority)\r\n"
        if let requestID { request += "x-request-id: \(requestID)\r\n" }
        self.request = request + "\r\n"
        self.established = established
        self.install = install
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return context.fireChannelRead(data) }
        switch reader.feed(unwrapInboundIn(data).readableBytesView) {
        case .incomplete:
            break
        case .established(let rest):
            answered = true
            do {
                try install(context.pipeline.syncOperations)
            } catch {
                established.fail(error)
                context.close(promise: nil)
                return
            }
            // The destination's first bytes, if they came with the answer, go on to the TLS behind.
            if !rest.isEmpty { context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: rest))) }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            established.succeed(())
        case .refused(let status):
            answered = true
            established.fail(Failure.refused(status: status))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !answered {
            answered = true
            established.fail(Failure.closedBeforeAnswer)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
