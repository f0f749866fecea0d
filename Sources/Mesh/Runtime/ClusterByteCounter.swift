import CoreMetrics
import NIOCore

/// Counts the bytes of one upstream connection into its cluster's
/// `sidecar_cluster_upstream_cx_rx_bytes_total` / `_tx_bytes_total`. First in the pipeline, so it
/// counts what crosses the socket (TLS records towards a peer sidecar; DECISIONS 121).
final class ClusterByteCounter: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let received: CoreMetrics.Counter
    private let sent: CoreMetrics.Counter

    init(_ counters: (received: CoreMetrics.Counter, sent: CoreMetrics.Counter)) {
        received = counters.received
        sent = counters.sent
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data).readableBytes
        if bytes > 0 { received.increment(by: Int64(bytes)) }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let bytes = unwrapOutboundIn(data).readableBytes
        if bytes > 0 { sent.increment(by: Int64(bytes)) }
        context.write(data, promise: promise)
    }
}
