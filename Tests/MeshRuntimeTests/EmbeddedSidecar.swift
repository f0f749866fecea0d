import Logging
import MeshModel
import MeshProxy
@testable import MeshRuntime
import NIOCore
import NIOEmbedded
import Testing

/// A sidecar driver on NIO's EmbeddedEventLoop: its listeners' pipelines on EmbeddedChannels that
/// a test writes the app's (or the peer's) bytes into, the upstream connections it opens in memory
/// (`upstreamConnector`), and virtual time (the driver's `SidecarClock` reads the loop's) that
/// the test advances. Nothing touches a socket or the wall clock.
final class EmbeddedSidecar {
    let loop = EmbeddedEventLoop()
    let driver: SidecarDriver
    let listener: ListenerKind
    let podIP: String
    /// Where the downstream connections come from.
    let clientIP: String
    /// The sidecar's ends of the upstream connections it opened, connected or not, in order.
    var upstreams: [EmbeddedChannel] = []
    /// Where each upstream connection was dialled (`host:port`), in order.
    var dialled: [String] = []
    /// Connects that never complete (the far end drops the SYN) when set.
    var connectsHang = false
    /// Connects refused at once when set.
    var connectsFail = false
    private var hanging: [EventLoopPromise<any Channel>] = []
    /// The downstream connections (apps on the outbound listener, peers on the inbound one).
    private(set) var downstreams: [EmbeddedChannel] = []

    enum RigError: Error { case configRejected }

    init(config: ProxyConfig, podIP: String, clientIP: String? = nil, listener: ListenerKind = .outbound, tune: (inout SidecarSettings) -> Void = { _ in }) throws {
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        var settings = SidecarSettings(podIP: podIP, peerTransport: .insecurePlaintext)
        tune(&settings)
        driver = SidecarDriver(eventLoop: loop, settings: settings, logger: logger)
        self.listener = listener
        self.podIP = podIP
        self.clientIP = clientIP ?? podIP
        driver.upstreamConnector = { [unowned self] host, port, _, initialize in connect(host: host, port: port, initialize: initialize) }
        guard case .applied = driver.apply(config) else { throw RigError.configRejected }
        _ = try accept()
    }

    /// The first downstream connection (made by `init`).
    var appChannel: EmbeddedChannel { downstreams[0] }

    /// A new connection accepted on the listener, from `<clientIP>:<40000 + n>`.
    func accept() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        try driver.configureAcceptedConnection(channel, listener: listener)
        let local = try NIOCore.SocketAddress(ipAddress: podIP, port: listener == .outbound ? 15001 : 15003)
        channel.localAddress = local
        channel.remoteAddress = try NIOCore.SocketAddress(ipAddress: clientIP, port: 40000 + downstreams.count)
        channel.connect(to: local, promise: nil)
        downstreams.append(channel)
        return channel
    }

    private func connect(host: String, port: Int, initialize: (any Channel) throws -> Void) -> EventLoopFuture<any Channel> {
        let near = EmbeddedChannel(loop: loop)
        upstreams.append(near)
        dialled.append("\(host):\(port)")
        do { try initialize(near) } catch { return loop.makeFailedFuture(error) }
        if connectsFail { return loop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        if connectsHang {
            let promise = loop.makePromise(of: (any Channel).self)
            hanging.append(promise)
            return promise.futureResult
        }
        let far = try! NIOCore.SocketAddress(ipAddress: host, port: port)
        near.remoteAddress = far
        near.connect(to: far, promise: nil)
        return loop.makeSucceededFuture(near)
    }

    /// The client sends `request` on `channel` (the first connection by default).
    func send(_ request: String, on channel: EmbeddedChannel? = nil) throws {
        try (channel ?? appChannel).writeInbound(ByteBuffer(string: request))
        loop.run()
    }

    /// What the sidecar wrote back on `channel` since the last call.
    func answer(on channel: EmbeddedChannel? = nil) -> String {
        Self.drain(channel ?? appChannel)
    }

    /// What the sidecar wrote on upstream connection `index` since the last call.
    func upstreamRequest(_ index: Int = 0) -> String {
        Self.drain(upstreams[index])
    }

    /// The far end of upstream connection `index` answers with `bytes`.
    func upstreamAnswers(_ bytes: String, on index: Int = 0) throws {
        try upstreams[index].writeInbound(ByteBuffer(string: bytes))
        loop.run()
    }

    static func drain(_ channel: EmbeddedChannel) -> String {
        var text = ""
        while let buffer = try? channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    func advance(_ amount: TimeAmount) {
        loop.advanceTime(by: amount)
        loop.run()
    }

    func stat(_ name: String) -> UInt64? {
        parseStats(driver.statsText())[name]
    }

    func close() {
        for promise in hanging { promise.fail(ChannelError.ioOnClosedChannel) }
        hanging.removeAll()
        for downstream in downstreams { _ = try? downstream.finish() }
        for upstream in upstreams { _ = try? upstream.finish() }
        loop.advanceTime(by: .hours(1))
        try? loop.syncShutdownGracefully()
    }
}
