import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A load worker's raw TCP connection through its client pod's sidecar: a `CONNECT` tunnel on the
/// outbound listener (local mode), then calls of `callBytes` bytes that the app must echo.
final class RealTCPConnection: Sendable {
    /// fortio's tcp runner writes 24 bytes per call.
    static let callBytes = 24
    /// What a server-first app says when a connection opens, before the client sends a byte.
    static let greeting = "220 server-first ready\r\n"

    enum Failure: Error {
        case refused
        case closed
    }

    private let channel: any Channel
    private let reader: Reader

    private init(channel: any Channel, reader: Reader) {
        self.channel = channel
        self.reader = reader
    }

    /// Connects to the sidecar and opens the tunnel to `authority` (`host:port`). To a server-first
    /// port (`serverFirst`) the app's greeting must come before the client writes anything.
    static func connect(host: String, port: Int, tunnelTo authority: String, serverFirst: Bool = false) async throws -> RealTCPConnection {
        let connection = try await open(host: host, port: port, bindTo: nil)
        let established = "HTTP/1.1 200 Connection Established\r\n\r\n"
        let answer = try await connection.exchange("CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\n\r\n", expecting: established.utf8.count,
                                                   timeout: .seconds(10))
        guard answer == established else {
            connection.close()
            throw Failure.refused
        }
        return try await connection.greeted(serverFirst)
    }

    /// Connects straight to `host:port` from the address `bindTo` (a client outside the mesh:
    /// no sidecar, no tunnel).
    static func connect(host: String, port: Int, bindTo: String, serverFirst: Bool = false) async throws -> RealTCPConnection {
        try await open(host: host, port: port, bindTo: bindTo).greeted(serverFirst)
    }

    private static func open(host: String, port: Int, bindTo: String?) async throws -> RealTCPConnection {
        let reader = Reader()
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        if let bindTo { bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: bindTo, port: 0)) }
        let channel = try await bootstrap
            .connectTimeout(.seconds(10))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(reader) }
            }
            .connect(host: host, port: port)
            .get()
        return RealTCPConnection(channel: channel, reader: reader)
    }

    /// On a server-first port, reads the app's greeting before anything is written.
    private func greeted(_ serverFirst: Bool) async throws -> RealTCPConnection {
        let connection = self
        if serverFirst {
            let hello = try await connection.exchange(nil, expecting: Self.greeting.utf8.count, timeout: .seconds(10))
            guard hello == Self.greeting else {
                connection.close()
                throw Failure.closed
            }
        }
        return connection
    }

    /// One call: `payload` out, the same bytes back.
    func echo(_ payload: String, timeout: TimeAmount) async throws {
        let answer = try await exchange(payload, expecting: payload.utf8.count, timeout: timeout)
        guard answer == payload else { throw Failure.closed }
    }

    var isActive: Bool { channel.isActive }

    func close() { channel.close(promise: nil) }

    /// Writes `text` (nil: nothing, a read alone) and reads until `expecting` bytes came back;
    /// fails when the connection closes first (a reset, a refused tunnel) or the timeout passes.
    private func exchange(_ text: String?, expecting: Int, timeout: TimeAmount) async throws -> String {
        let channel = channel
        let promise = channel.eventLoop.makePromise(of: String.self)
        try await channel.eventLoop.submit { self.reader.expect(expecting, promise: promise) }.get()
        let timer = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { timer.cancel() }
        if let text { channel.writeAndFlush(channel.allocator.buffer(string: text)).whenFailure { promise.fail($0) } }
        return try await promise.futureResult.get()
    }

    private final class Reader: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        private var buffered = ""
        private var waiting: (count: Int, promise: EventLoopPromise<String>)?

        func expect(_ count: Int, promise: EventLoopPromise<String>) {
            waiting = (count, promise)
            deliver()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            buffered += String(buffer: unwrapInboundIn(data))
            deliver()
        }

        private func deliver() {
            guard let (count, promise) = waiting, buffered.utf8.count >= count else { return }
            waiting = nil
            let utf8 = Array(buffered.utf8)
            buffered = String(decoding: utf8[count...], as: UTF8.self)
            promise.succeed(String(decoding: utf8[..<count], as: UTF8.self))
        }

        func channelInactive(context: ChannelHandlerContext) {
            waiting?.promise.fail(Failure.closed)
            waiting = nil
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}
