import Foundation
import Logging
import MeshIdentity
import MeshModel
import MeshRuntime
import MeshShell
import MeshTestCA
import MeshTesting
import NIOCore
import NIOHTTP1
import NIOPosix

/// A tiny HTTP app: answers `<METHOD> <path> <body>`; `/status/NNN` answers that status;
/// `/reset` closes the connection without answering. Records the headers it received.
final class EchoApp: @unchecked Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private(set) var channel: (any Channel)?
    private let lock = NSLock()
    private var _seenHeaders: [[String: String]] = []

    var seenHeaders: [[String: String]] {
        lock.lock(); defer { lock.unlock() }
        return _seenHeaders
    }

    /// Request body bytes received so far (counted as they arrive, before a request ends).
    private var _bodyBytesReceived = 0
    var bodyBytesReceived: Int { lock.withLock { _bodyBytesReceived } }
    func countBody(_ bytes: Int) { lock.withLock { _bodyBytesReceived += bytes } }

    func record(_ headers: HTTPHeaders) {
        var table: [String: String] = [:]
        for (name, value) in headers { table[name.lowercased()] = value }
        lock.lock(); _seenHeaders.append(table); lock.unlock()
    }

    func start(host: String, port: Int) async throws {
        let app = self
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(app: app))
                }
            }
            .bind(host: host, port: port).get()
    }

    private var stopped = false

    func stop() async {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        try? await channel?.close()
        try? await group.shutdownGracefully()
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let app: EchoApp
        var head: HTTPRequestHead?
        var body = ""
        init(app: EchoApp) { self.app = app }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = ""
                app.record(head.headers)
            case .body(let buffer):
                app.countBody(buffer.readableBytes)
                body += String(buffer: buffer)
            case .end:
                guard let head else { return }
                if head.uri == "/reset" {
                    context.close(promise: nil)
                    return
                }
                if head.uri.hasPrefix("/big/"), let size = Int(head.uri.dropFirst(5)) {
                    // A large body in 64 KiB parts, with no content-length (chunked).
                    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok))), promise: nil)
                    var left = size
                    while left > 0 {
                        let part = min(left, 65_536)
                        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(repeating: UInt8(ascii: "x"), count: part)))), promise: nil)
                        left -= part
                    }
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                    return
                }
                if head.uri.hasPrefix("/slow/"), let milliseconds = Int64(head.uri.dropFirst(6)) {
                    let text = "slow"
                    let channel = context.channel
                    context.eventLoop.scheduleTask(in: .milliseconds(milliseconds)) {
                        var headers = HTTPHeaders()
                        headers.add(name: "content-length", value: String(text.utf8.count))
                        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)), promise: nil)
                        channel.write(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(string: text))), promise: nil)
                        channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
                    }
                    return
                }
                var status = HTTPResponseStatus.ok
                if head.uri.hasPrefix("/status/"), let code = Int(head.uri.dropFirst(8)) { status = HTTPResponseStatus(statusCode: code) }
                let text = "\(head.method.rawValue) \(head.uri) \(body)"
                var headers = HTTPHeaders()
                headers.add(name: "content-length", value: String(text.utf8.count))
                headers.add(name: "x-app", value: "echo")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

/// Sends raw bytes and reads until the peer closes (or the timeout passes).
enum RawClient {
    static func exchange(host: String, port: Int, bytes: String, timeout: TimeAmount = .seconds(5)) async throws -> String {
        let (channel, received) = try await open(host: host, port: port)
        // A peer that closed first (an idle deadline) fails the write: what it sent still counts.
        try? await channel.writeAndFlush(channel.allocator.buffer(string: bytes))
        let timer = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        defer { timer.cancel() }
        return try await received.get()
    }

    /// A raw connection and everything it will have received when the peer closes it.
    static func open(host: String, port: Int) async throws -> (channel: any Channel, received: EventLoopFuture<String>) {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: String.self)
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(promise: promise)) }
            }
            .connect(host: host, port: port).get()
        return (channel, promise.futureResult)
    }

    final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let promise: EventLoopPromise<String>
        var text = ""
        init(promise: EventLoopPromise<String>) { self.promise = promise }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { text += String(buffer: unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) { promise.succeed(text) }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}

/// A client pod and a server pod (with the echo app on 8080) on their own loopback addresses,
/// each with a sidecar started from a config file.
struct MeshPair {
    static let fqdn = "echo.default.svc.cluster.local"
    static let clientIdentity = "client.default.cluster.local"
    static let serverIdentity = "echo.default.cluster.local"
    static let appPort = 8080

    let clientIP: String
    let serverIP: String
    let app: EchoApp
    let client: SidecarProcess
    let server: SidecarProcess
    let directory: URL
    /// The pair's addresses, held against other test runs on this machine until `stop`.
    let lease: LoopbackBlockLease

    static func hosts(port: Int) -> [HostMapping] {
        ["echo", "echo.default", "echo.default.svc.cluster.local"].flatMap { name in
            [HostMapping(host: name, service: fqdn), HostMapping(host: "\(name):\(port)", service: fqdn)]
        }
    }

    static func clientConfig(serverIP: String, retry: RetryPolicy? = nil, version: String = "client-1", requestTimeout: MeshDuration? = nil) -> ProxyConfig {
        var settings: ConnectionSettings?
        if let requestTimeout {
            settings = ConnectionSettings()
            settings?.http.requestTimeout = requestTimeout
        }
        return ProxyConfig(
            version: version,
            serviceIdentity: clientIdentity,
            outbound: OutboundConfig(
                trafficMatches: [OutboundTrafficMatch(
                    port: appPort, appProtocol: .http, destinationIPRanges: ["10.96.0.10/32"], httpHostPort2Service: hosts(port: appPort),
                    httpServiceRouteRules: [ServiceRouteRules(service: fqdn, rules: [RouteRule(pathRegex: ".*", targetClusters: [WeightedCluster(name: "default/echo|8080", weight: 100)])])],
                    serviceIdentity: clientIdentity
                )],
                clustersConfigs: [ClusterConfig(name: "default/echo|8080", endpoints: [ClusterEndpoint(address: "\(serverIP):\(appPort)")], connectionSettings: settings, retryPolicy: retry)]
            )
        )
    }

    static func serverConfig(serverIP: String, rules: [RouteRule]? = nil, serviceLimit: RateLimitConfig? = nil) -> ProxyConfig {
        let local = [WeightedCluster(name: "default/echo|8080|local", weight: 100)]
        return ProxyConfig(
            version: "server-1",
            serviceIdentity: serverIdentity,
            inbound: InboundConfig(
                trafficMatches: [InboundTrafficMatch(
                    port: appPort, appProtocol: .http, httpHostPort2Service: hosts(port: appPort),
                    httpServiceRouteRules: [ServiceRouteRules(service: fqdn, rules: rules ?? [RouteRule(pathRegex: ".*", targetClusters: local)], rateLimit: serviceLimit)]
                )],
                clustersConfigs: [ClusterConfig(name: "default/echo|8080|local", endpoints: [ClusterEndpoint(address: "\(serverIP):\(appPort)")])]
            )
        )
    }

    static func write(_ config: ProxyConfig, to url: URL) throws {
        try Data(config.renderedJSON(pretty: true).utf8).write(to: url, options: .atomic)
    }

    /// Issues `identity` a certificate from `ca` (the shared test mesh root by default), writes it
    /// into `directory` as `<name>.crt/.key/-ca.crt`, and names the files for a sidecar.
    @discardableResult
    static func certificates(for identity: String, in directory: URL, name: String, ca: TestCA = .shared,
                             now: Date = Date(timeIntervalSinceNow: -60), validity: MeshDuration = .hours(24)) throws -> PeerCertificateFiles {
        let files = try TestCA.write(ca.issue(identity, now: now, validity: validity), to: directory, name: name)
        return PeerCertificateFiles(certificatePath: files.certificatePath, privateKeyPath: files.privateKeyPath, caPath: files.caPath)
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "test.sidecar")
        logger.logLevel = .critical
        return logger
    }

    /// The pods are hosts .1 (client) and .2 (server) of `block`, a free test address block
    /// (`TestAddressBlock`) unless the test leased one itself to name its addresses in the configs;
    /// the pair holds it until `stop`. `tune` adjusts each sidecar's settings.
    static func start(block: LoopbackBlockLease? = nil, client clientConfig: ProxyConfig? = nil, server serverConfig: ProxyConfig? = nil,
                      clientWorkload: WorkloadLabels = .unknown, serverWorkload: WorkloadLabels = .unknown,
                      tuneClient: (inout SidecarSettings) -> Void = { _ in }, tuneServer: (inout SidecarSettings) -> Void = { _ in }) async throws -> MeshPair {
        let lease = try block ?? TestAddressBlock.lease()
        let clientIP = lease.address(1)
        let serverIP = lease.address(2)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mesh-runtime-\(lease.block)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try write(clientConfig ?? Self.clientConfig(serverIP: serverIP), to: directory.appendingPathComponent("client.json"))
        try write(serverConfig ?? Self.serverConfig(serverIP: serverIP), to: directory.appendingPathComponent("server.json"))
        let clientFiles = try certificates(for: clientIdentity, in: directory, name: "client")
        let serverFiles = try certificates(for: serverIdentity, in: directory, name: "server")
        let app = EchoApp()
        try await app.start(host: serverIP, port: appPort)
        var clientSettings = SidecarSettings(podIP: clientIP, peerTransport: .mutualTLS(clientFiles), workload: clientWorkload)
        tuneClient(&clientSettings)
        var serverSettings = SidecarSettings(podIP: serverIP, peerTransport: .mutualTLS(serverFiles), workload: serverWorkload)
        tuneServer(&serverSettings)
        let client = try await SidecarProcess.start(configPath: directory.appendingPathComponent("client.json").path, settings: clientSettings, logger: quietLogger)
        let server = try await SidecarProcess.start(configPath: directory.appendingPathComponent("server.json").path, settings: serverSettings, logger: quietLogger)
        return MeshPair(clientIP: clientIP, serverIP: serverIP, app: app, client: client, server: server, directory: directory, lease: lease)
    }

    /// Starts the pair, runs `body`, and stops everything whether `body` threw or not.
    static func run(block: LoopbackBlockLease? = nil, client: ProxyConfig? = nil, server: ProxyConfig? = nil,
                    clientWorkload: WorkloadLabels = .unknown, serverWorkload: WorkloadLabels = .unknown,
                    tuneClient: (inout SidecarSettings) -> Void = { _ in }, tuneServer: (inout SidecarSettings) -> Void = { _ in },
                    _ body: (MeshPair) async throws -> Void) async throws {
        let mesh = try await start(block: block, client: client, server: server, clientWorkload: clientWorkload, serverWorkload: serverWorkload, tuneClient: tuneClient, tuneServer: tuneServer)
        do {
            try await body(mesh)
        } catch {
            await mesh.stop()
            throw error
        }
        await mesh.stop()
    }

    /// A request from the client app: to its sidecar's outbound listener, Host naming the service.
    func get(_ path: String, host: String = "echo:8080", method: HTTPMethod = .GET, body: String? = nil, headers: [(String, String)] = []) async throws -> MeshHTTPResponse {
        try await MeshHTTP.request(host: clientIP, port: 15001, method: method, path: path, headers: [("host", host)] + headers, body: body, timeout: .seconds(5))
    }

    func admin(_ sidecarIP: String, _ path: String) async throws -> MeshHTTPResponse {
        try await MeshHTTP.request(host: sidecarIP, port: 15000, path: path, timeout: .seconds(5))
    }

    func stop() async {
        await client.shutdown()
        await server.shutdown()
        await app.stop()
        try? FileManager.default.removeItem(at: directory)
        lease.release()
    }
}

/// `name: value` lines → table.
func parseStats(_ text: String) -> [String: UInt64] {
    var table: [String: UInt64] = [:]
    for line in text.split(separator: "\n") {
        guard let colon = line.range(of: ": ", options: .backwards), let value = UInt64(line[colon.upperBound...]) else { continue }
        table[String(line[..<colon.lowerBound])] = value
    }
    return table
}
