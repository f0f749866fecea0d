import NIOCore
import NIOHTTP2

/// The idle deadline of a downstream HTTP/2 connection (the HTTP/1.1 deadlines handler leaves the
/// pipeline when a connection turns out to be HTTP/2): while no stream is open, the connection
/// closes after the sidecar's idle timeout, counted as `runtime.downstream_cx_idle_timeout` like
/// an idle HTTP/1.1 connection. A client that sends the preface and then nothing, or keeps a
/// connection without calls, does not hold it forever. Sits after NIO's HTTP/2 handler, which
/// tells it (as its stream delegate, on the connection's loop) when streams open and close.
final class HTTP2IdleTimeout: ChannelInboundHandler, NIOHTTP2StreamDelegate, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame

    private let driver: SidecarDriver
    private let timeout: TimeAmount
    private var openStreams = 0
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(driver: SidecarDriver) {
        self.driver = driver
        self.timeout = driver.settings.idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { arm() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        arm()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func streamCreated(_ id: HTTP2StreamID, channel: any Channel) {
        openStreams += 1
        disarm()
    }

    func streamClosed(_ id: HTTP2StreamID, channel: any Channel) {
        openStreams = max(0, openStreams - 1)
        if openStreams == 0 { arm() }
    }

    private func arm() {
        disarm()
        guard timeout.nanoseconds > 0, let context else { return }
        timer = driver.clock.schedule(in: timeout) { [self] in
            timer = nil
            guard openStreams == 0, let context = self.context else { return }
            driver.count(.idleTimeout)
            context.close(promise: nil)
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}
