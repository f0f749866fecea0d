import Foundation
import Logging
import MeshIdentity
import MeshModel
import MeshProxy
import MeshTestCA
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
@testable import MeshRuntime

/// The gateway shell's tests drive it with this engine double: its answers are fixed tables, so
/// each test says what the engine decided and checks that the shell carried it out. What it was
/// asked is recorded.
struct ScriptedGatewayEngine: GatewayEngine {
    /// Backend per listener port.
    var backends: [Int: MeshProxy.SocketAddress] = [:]
    /// TLS choice per SNI (`""` for none); anything else gets `defaultTLS`.
    var tls: [String: GatewayTLSChoice] = [:]
    var defaultTLS: GatewayTLSChoice = .reject(.noRoute)
    /// Listener protocol per port (`.tls`: a terminated connection is relayed).
    var protocols: [Int: GatewayListenerProtocol] = [:]
    /// A config with this version is refused.
    var refusedVersion = "refused"
    private(set) var asked: [(port: Int, transport: GatewayTransport, serverName: String?)] = []
    private(set) var open: Set<UInt64> = []

    mutating func apply(_ config: GatewayConfig) -> ConfigApplyResult {
        config.version == refusedVersion ? .rejected(reason: "refused by the test engine") : .applied(version: config.version)
    }

    func listenerProtocol(port: Int) -> GatewayListenerProtocol? { protocols[port] }

    func tlsChoice(port: Int, serverName: String?) -> GatewayTLSChoice {
        tls[serverName ?? ""] ?? defaultTLS
    }

    mutating func connection<R: RandomNumberGenerator>(_ id: ConnectionID, port: Int, transport: GatewayTransport, serverName: String?,
                                                       source: MeshProxy.SocketAddress, now: MeshInstant, random: inout R) -> GatewayConnectionDecision {
        asked.append((port, transport, serverName))
        guard let backend = backends[port] else { return .reject(.noRoute) }
        open.insert(id.rawValue)
        return .connect(cluster: "backend-\(port)", endpoint: backend)
    }

    mutating func connectionClosed(_ id: ConnectionID) {
        open.remove(id.rawValue)
    }
}

enum GatewayFixtures {
    static let quietLogger: Logger = {
        var logger = Logger(label: "fsm.gateway.test")
        logger.logLevel = .critical
        return logger
    }()

    static func settings(_ ip: String, tune: (inout GatewaySettings) -> Void = { _ in }) -> GatewaySettings {
        var settings = GatewaySettings(bindAddress: ip, adminAddress: ip, adminPort: 15000, connectionLimit: 64)
        tune(&settings)
        return settings
    }

    /// A gateway on `ip` (settings: `settings(ip)` unless given), stopped after `body`.
    static func run(_ ip: String, engine: ScriptedGatewayEngine, settings given: GatewaySettings? = nil,
                    _ body: (GatewayProcess) async throws -> Void) async throws {
        let gateway = try await GatewayProcess.start(settings: given ?? settings(ip), engine: engine, logger: quietLogger)
        do {
            try await body(gateway)
        } catch {
            await gateway.shutdown(drainTimeout: .zero)
            throw error
        }
        await gateway.shutdown(drainTimeout: .zero)
    }

    static func config(version: String, _ listeners: [GatewayConfig.Listener]) -> GatewayConfig {
        GatewayConfig(gateway: "httpbin/simple-fsm-gateway", version: version, listeners: listeners)
    }

    /// A server certificate for `names` from the test CA, as a gateway config carries it.
    static func certificate(_ names: [String], secret: String) throws -> GatewayConfig.Certificate {
        var generator = SystemRandomNumberGenerator()
        let issued = try TestCA.shared.authority.issueServerCertificate(dnsNames: names, now: Date(timeIntervalSinceNow: -60), validity: .hours(1), using: &generator)
        return GatewayConfig.Certificate(secret: secret, certificatePEM: issued.certificatePEM, privateKeyPEM: issued.privateKeyPEM)
    }

    static func admin(_ ip: String, _ path: String) async throws -> MeshHTTPResponse {
        try await MeshHTTP.request(host: ip, port: 15000, path: path, timeout: .seconds(5))
    }

    /// Polls until `condition` holds (a closed socket or a counter the gateway updates on its loop).
    static func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
        for _ in 0..<200 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw GatewayTestFailure(description: "never: \(what)")
    }
}

struct GatewayTestFailure: Error, CustomStringConvertible {
    var description: String
}

/// Servers the gateway relays to.
final class Backends: @unchecked Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channels: [any Channel] = []

    /// TCP: echoes every byte, prefixed once with `greeting`.
    func tcpEcho(host: String, port: Int, greeting: String = "") async throws {
        channels.append(try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Echo(greeting: greeting)) }
            }
            .bind(host: host, port: port).get())
    }

    /// TLS (certificate `certificate`), then echoes.
    func tlsEcho(host: String, port: Int, certificate: GatewayConfig.Certificate) async throws {
        try await tlsServer(host: host, port: port, certificate: certificate) { try $0.addHandler(Echo(greeting: "tls-backend ")) }
    }

    /// HTTPS (certificate `certificate`) in front of `app`'s handler.
    func tlsHTTP(host: String, port: Int, certificate: GatewayConfig.Certificate, app: EchoApp) async throws {
        try await tlsServer(host: host, port: port, certificate: certificate) { pipeline in
            try pipeline.configureHTTPServerPipeline()
            try pipeline.addHandler(EchoApp.Handler(app: app))
        }
    }

    /// A TLS server whose connections get `install`'s handlers after TLS.
    private func tlsServer(host: String, port: Int, certificate: GatewayConfig.Certificate,
                           install: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void) async throws {
        let context = try Self.serverContext(certificate)
        channels.append(try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try install(channel.pipeline.syncOperations)
                }
            }
            .bind(host: host, port: port).get())
    }

    static func serverContext(_ certificate: GatewayConfig.Certificate) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificate.certificatePEM.utf8))
        let key = try NIOSSLPrivateKey(bytes: Array(certificate.privateKeyPEM.utf8), format: .pem)
        return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
    }

    /// UDP: answers each datagram with itself.
    func udpEcho(host: String, port: Int) async throws {
        channels.append(try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(DatagramEcho()) }
            }
            .bind(host: host, port: port).get())
    }

    func stop() async {
        for channel in channels { try? await channel.close() }
        try? await group.shutdownGracefully()
    }

    final class Echo: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let greeting: String
        var greeted = false
        init(greeting: String) { self.greeting = greeting }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if !greeted, !greeting.isEmpty {
                greeted = true
                context.write(wrapOutboundOut(context.channel.allocator.buffer(string: greeting)), promise: nil)
            }
            context.writeAndFlush(data, promise: nil)
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    final class DatagramEcho: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: envelope.data)), promise: nil)
        }
    }
}

/// Clients of the gateway.
enum GatewayClients {
    /// A TLS connection naming `serverName`, trusting the test CA and checking the certificate
    /// names `serverName`; sends `request` once the handshake is done and returns what came back
    /// until the peer closed or `timeout` passed. A failed handshake throws.
    static func tls(host: String, port: Int, serverName: String, request: String, clientCertificate: GatewayConfig.Certificate? = nil,
                    timeout: TimeAmount = .seconds(5)) async throws -> String {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(TestCA.shared.rootPEM.utf8)))
        if let clientCertificate {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(clientCertificate.certificatePEM.utf8)).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(clientCertificate.privateKeyPEM.utf8), format: .pem))
        }
        let context = try NIOSSLContext(configuration: configuration)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let collector = Collector(loop: loop, request: request)
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverName))
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: host, port: port).get()
        let timer = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { timer.cancel() }
        return try await collector.promise.futureResult.get()
    }

    final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let promise: EventLoopPromise<String>
        let request: String
        var text = ""
        var failure: (any Error)?
        init(loop: any EventLoop, request: String) {
            promise = loop.makePromise()
            self.request = request
        }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
            }
            context.fireUserInboundEventTriggered(event)
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { text += String(buffer: unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) {
            if let failure, text.isEmpty { promise.fail(failure) } else { promise.succeed(text) }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            if failure == nil { failure = error }
            context.close(promise: nil)
        }
    }

    /// Whether a TCP connection to `host:port` is accepted (closed at once).
    static func connects(host: String, port: Int) async -> Bool {
        guard let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: host, port: port).get() else { return false }
        try? await channel.close()
        return true
    }

    /// Sends `datagram` from a fresh socket and waits for one answer (nil after `timeout`).
    static func udp(host: String, port: Int, datagram: String, timeout: TimeAmount = .seconds(2)) async throws -> String? {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: String?.self)
        let channel = try await DatagramBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(OneAnswer(promise: promise)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let target = try NIOCore.SocketAddress(ipAddress: host, port: port)
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: target, data: channel.allocator.buffer(string: datagram)))
        let timer = loop.scheduleTask(in: timeout) { promise.succeed(nil) }
        let answer = try await promise.futureResult.get()
        timer.cancel()
        try? await channel.close()
        return answer
    }

    final class OneAnswer: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let promise: EventLoopPromise<String?>
        init(promise: EventLoopPromise<String?>) { self.promise = promise }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { promise.succeed(String(buffer: unwrapInboundIn(data).data)) }
    }
}
