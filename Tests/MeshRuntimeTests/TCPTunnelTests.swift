import Foundation
import Logging
import MeshModel
import MeshRuntime
import MeshShell
import MeshTesting
import NIOCore
import NIOPosix
import Testing

/// A raw TCP app: echoes what it reads; with `greeting` it speaks first (server-first protocols).
final class TCPEchoApp: @unchecked Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: (any Channel)?

    func start(host: String, port: Int, greeting: String?) async throws {
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Echo(greeting: greeting)) }
            }
            .bind(host: host, port: port).get()
    }

    func stop() async {
        try? await channel?.close()
        try? await group.shutdownGracefully()
    }

    final class Echo: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let greeting: String?
        init(greeting: String?) { self.greeting = greeting }
        func channelActive(context: ChannelHandlerContext) {
            if let greeting { context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: greeting)), promise: nil) }
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(data, promise: nil)
        }
    }
}

/// Reads until `expected` bytes arrived, the peer closed, or the timeout passed.
enum TunnelClient {
    static func exchange(host: String, port: Int, send: String, expectedBytes: Int, timeout: TimeAmount = .seconds(3)) async throws -> (text: String, closed: Bool) {
        let (bytes, closed) = try await exchange(host: host, port: port, send: Array(send.utf8), expectedBytes: expectedBytes, timeout: timeout)
        return (String(decoding: bytes, as: UTF8.self), closed)
    }

    /// The same with bytes (a CONNECT and a ClientHello after it).
    static func exchange(host: String, port: Int, send: [UInt8], expectedBytes: Int, timeout: TimeAmount = .seconds(3)) async throws -> (bytes: [UInt8], closed: Bool) {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: ([UInt8], Bool).self)
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Reader(expected: expectedBytes, promise: promise)) }
            }
            .connect(host: host, port: port).get()
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: send))
        let timer = loop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { timer.cancel() }
        let (bytes, closed) = try await promise.futureResult.get()
        try? await channel.close()
        return (bytes, closed)
    }

    final class Reader: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let expected: Int
        let promise: EventLoopPromise<([UInt8], Bool)>
        var bytes: [UInt8] = []
        var done = false
        init(expected: Int, promise: EventLoopPromise<([UInt8], Bool)>) {
            self.expected = expected
            self.promise = promise
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            bytes += unwrapInboundIn(data).readableBytesView
            if bytes.count >= expected, !done {
                done = true
                promise.succeed((bytes, false))
            }
        }
        func channelInactive(context: ChannelHandlerContext) {
            if !done {
                done = true
                promise.succeed((bytes, true))
            }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct TCPTunnelTests {
    static let port = 14001
    static let clusterIP = "10.96.0.20"

    static func configs(serverIP: String, protocol appProtocol: AppProtocol, allowed: [String]?) -> (client: ProxyConfig, server: ProxyConfig) {
        let client = ProxyConfig(
            version: "tcp-client", serviceIdentity: MeshPair.clientIdentity,
            outbound: OutboundConfig(
                trafficMatches: [OutboundTrafficMatch(port: port, appProtocol: appProtocol, destinationIPRanges: ["\(clusterIP)/32"],
                                                      targetClusters: [WeightedCluster(name: "default/tcpecho|14001", weight: 100)], serviceIdentity: MeshPair.clientIdentity)],
                clustersConfigs: [ClusterConfig(name: "default/tcpecho|14001", endpoints: [ClusterEndpoint(address: "\(serverIP):\(port)")])]
            )
        )
        let server = ProxyConfig(
            version: "tcp-server", serviceIdentity: "tcpecho.default.cluster.local",
            inbound: InboundConfig(
                trafficMatches: [InboundTrafficMatch(port: port, appProtocol: appProtocol,
                                                     targetClusters: [WeightedCluster(name: "default/tcpecho|14001|local", weight: 100)], allowedEndpoints: allowed)],
                clustersConfigs: [ClusterConfig(name: "default/tcpecho|14001|local", endpoints: [ClusterEndpoint(address: "\(serverIP):\(port)")])]
            )
        )
        return (client, server)
    }

    static func withTunnelMesh(protocol appProtocol: AppProtocol, allowed: [String]?, greeting: String?, _ body: (MeshPair) async throws -> Void) async throws {
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        let (client, server) = configs(serverIP: serverIP, protocol: appProtocol, allowed: allowed)
        let app = TCPEchoApp()
        try await app.start(host: serverIP, port: port, greeting: greeting)
        do {
            try await MeshPair.run(block: block, client: client, server: server, body)
        } catch {
            await app.stop()
            throw error
        }
        await app.stop()
    }

    static let connect = "CONNECT \(clusterIP):\(port) HTTP/1.1\r\nHost: \(clusterIP):\(port)\r\n\r\n"
    static let established = "HTTP/1.1 200 Connection Established\r\n\r\n"

    @Test func tcpBytesRelayThroughBothSidecars() async throws {
        try await Self.withTunnelMesh(protocol: .tcp, allowed: [MeshPair.clientIdentity], greeting: nil) { mesh in
            let payload = "ping over the mesh"
            let result = try await TunnelClient.exchange(host: mesh.clientIP, port: 15001, send: Self.connect + payload,
                                                         expectedBytes: Self.established.utf8.count + payload.utf8.count)
            #expect(result.text == Self.established + payload)
            let client = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(client["cluster.default/tcpecho|14001.upstream_cx_total"] == 1)
            let server = parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)
            #expect(server["inbound.cx_total"] == 1)
        }
    }

    @Test func serverFirstProtocolGetsTheGreeting() async throws {
        try await Self.withTunnelMesh(protocol: .tcpServerFirst, allowed: nil, greeting: "220 hello\r\n") { mesh in
            let result = try await TunnelClient.exchange(host: mesh.clientIP, port: 15001, send: Self.connect,
                                                         expectedBytes: Self.established.utf8.count + 11)
            #expect(result.text == Self.established + "220 hello\r\n")
        }
    }

    @Test func identityNotAllowedClosesTheTunnel() async throws {
        try await Self.withTunnelMesh(protocol: .tcp, allowed: ["someone-else.default.cluster.local"], greeting: "never\r\n") { mesh in
            let result = try await TunnelClient.exchange(host: mesh.clientIP, port: 15001, send: Self.connect + "ping",
                                                         expectedBytes: 1_000)
            #expect(result.closed)
            #expect(!result.text.contains("ping") && !result.text.contains("never"))
            let server = parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)
            #expect(server["inbound.access_denied"] == 1)
        }
    }

    @Test func unmatchedDestinationIsClosed() async throws {
        try await Self.withTunnelMesh(protocol: .tcp, allowed: nil, greeting: nil) { mesh in
            let result = try await TunnelClient.exchange(host: mesh.clientIP, port: 15001, send: "CONNECT 10.1.2.3:5432 HTTP/1.1\r\n\r\n", expectedBytes: 1_000)
            #expect(result.closed)
            #expect(result.text.isEmpty)
            #expect(parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)["outbound.no_route"] == 1)
        }
    }
}
