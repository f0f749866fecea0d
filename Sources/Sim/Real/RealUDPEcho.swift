import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SimCore

/// The real run's UDP: an app that echoes datagrams (`udp-echo` on its ports, fortio on 8078)
/// binds a datagram socket beside its TCP listener, and a `udp://` load's worker sends one
/// datagram per request to the service's next endpoint (kube-proxy's choice, on the pod's own
/// port: UDP passes by the sidecars, DECISIONS 187) and waits for the echo, as `nc -u -w1` does.
extension RealAppServer {
    /// Binds a UDP echo on each app port whose model echoes datagrams there.
    func startUDPEchoes(group: any EventLoopGroup) async throws {
        for port in pod.appPorts where pod.app.echoesUDP(port: port) {
            let server = self
            let channel = try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RealUDPEchoHandler(server: server)) }
                }
                .bind(host: pod.ip, port: port)
                .get()
            keep(channel)
        }
    }
}

/// Each datagram back to its sender as it came; the call's payload noted with the Deployment that read it.
private final class RealUDPEchoHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let server: RealAppServer

    init(server: RealAppServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        server.state.withLockedValue { $0.receivedDatagram() }
        server.tcpCalls.served(String(buffer: envelope.data), by: server.pod.deployment)
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: envelope.data)), promise: nil)
    }
}

/// A load worker's UDP socket, connected to one endpoint: each call is one datagram and its echo.
final class RealUDPSocket: RealLoadConnection, Sendable {
    enum Failure: Error {
        /// No echo within the wait (`nc -w1`'s silence).
        case silence
    }

    /// How long a call waits for its echo (`nc -w1`).
    static let wait: TimeAmount = .seconds(1)

    private let channel: any Channel
    private let reader: Reader
    private let target: SocketAddress

    private init(channel: any Channel, reader: Reader, target: SocketAddress) {
        self.channel = channel
        self.reader = reader
        self.target = target
    }

    var isActive: Bool { channel.isActive }

    func close() { channel.close(promise: nil) }

    /// A socket bound to the client pod's address, connected to `host:port`.
    static func open(from clientIP: String, to host: String, port: Int) async throws -> RealUDPSocket {
        let reader = Reader()
        let target = try SocketAddress(ipAddress: host, port: port)
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(reader) }
            }
            .bind(host: clientIP, port: 0)
            .get()
        do {
            try await channel.connect(to: target).get()
        } catch {
            try? await channel.close()
            throw error
        }
        return RealUDPSocket(channel: channel, reader: reader, target: target)
    }

    /// Sends `payload` and waits for the same bytes back.
    func echo(_ payload: String) async throws {
        let answer = channel.eventLoop.makePromise(of: String.self)
        reader.expect(answer)
        let reader = reader
        let timeout = channel.eventLoop.scheduleTask(in: Self.wait) { reader.fail(Failure.silence) }
        defer { timeout.cancel() }
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: channel.allocator.buffer(string: payload)), promise: nil)
        guard try await answer.futureResult.get() == payload else { throw Failure.silence }
    }

    /// Hands the next datagram to the call waiting for it (an ICMP unreachable fails it).
    private final class Reader: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        private let waiting = NIOLockedValueBox<EventLoopPromise<String>?>(nil)

        func expect(_ promise: EventLoopPromise<String>) { waiting.withLockedValue { $0 = promise } }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let text = String(buffer: unwrapInboundIn(data).data)
            waiting.withLockedValue { promise in
                promise?.succeed(text)
                promise = nil
            }
        }

        /// Fails the waiting call, once (the wait ran out, or an ICMP unreachable came back).
        func fail(_ error: any Error) {
            waiting.withLockedValue { promise in
                promise?.fail(error)
                promise = nil
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) { fail(error) }
    }
}
