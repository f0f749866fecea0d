import Foundation
import MeshModel
import MeshRuntime
import MeshShell
import MeshTesting
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import Testing

// MARK: - gRPC framing

/// gRPC's length-prefixed messages: a compression flag byte, a 4-byte big-endian length, the bytes.
enum GRPCFraming {
    static func encode(_ message: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(message.utf8.count))
        buffer.writeString(message)
        return buffer
    }

    /// Takes the complete messages off the front of `buffer`.
    static func decode(_ buffer: inout ByteBuffer) -> [String] {
        var messages: [String] = []
        while buffer.readableBytes >= 5,
              let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self),
              buffer.readableBytes >= 5 + Int(length) {
            buffer.moveReaderIndex(forwardBy: 5)
            messages.append(buffer.readString(length: Int(length)) ?? "")
        }
        return messages
    }
}

// MARK: - A small h2c gRPC-framed app

/// An h2c server speaking gRPC framing: `/test.Echo/Unary` answers `echo: <message>`;
/// `/test.Echo/Stream` sends `first`, then waits for `releaseStreams()` before `second` and the
/// trailers; `/test.Echo/Chat` (bidirectional) answers each request message as it arrives and ends
/// when the request ends; `/test.Echo/Fail` answers `grpc-status: 5` with a message. Records request headers.
final class GRPCTestApp: @unchecked Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: (any Channel)?
    private let lock = NSLock()
    private var waitingStreams: [@Sendable () -> Void] = []
    private var _seenHeaders: [[String: String]] = []

    var seenHeaders: [[String: String]] { lock.withLock { _seenHeaders } }

    func start(host: String, port: Int) async throws {
        let app = self
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                    ) { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                            try stream.pipeline.syncOperations.addHandler(Handler(app: app))
                        }
                    }
                }
            }
            .bind(host: host, port: port).get()
    }

    func stop() async {
        try? await channel?.close()
        try? await group.shutdownGracefully()
    }

    func releaseStreams() {
        let waiting = lock.withLock { () -> [@Sendable () -> Void] in
            defer { waitingStreams.removeAll() }
            return waitingStreams
        }
        for release in waiting { release() }
    }

    fileprivate func record(_ headers: HTTPHeaders) {
        var table: [String: String] = [:]
        for (name, value) in headers { table[name.lowercased()] = value }
        lock.withLock { _seenHeaders.append(table) }
    }

    fileprivate func waitForRelease(_ release: @escaping @Sendable () -> Void) {
        lock.withLock { waitingStreams.append(release) }
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let app: GRPCTestApp
        var head: HTTPRequestHead?
        var body = ByteBuffer()
        init(app: GRPCTestApp) { self.app = app }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                app.record(head.headers)
                if head.uri == "/test.Echo/Chat" {
                    var headers = HTTPHeaders()
                    headers.add(name: "content-type", value: "application/grpc")
                    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http2, status: .ok, headers: headers))), promise: nil)
                }
            case .body(var part):
                body.writeBuffer(&part)
                guard head?.uri == "/test.Echo/Chat" else { return }
                for message in GRPCFraming.decode(&body) {
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(GRPCFraming.encode("echo: \(message)")))), promise: nil)
                }
            case .end:
                guard let head else { return }
                if head.uri == "/test.Echo/Chat" {
                    context.writeAndFlush(wrapOutboundOut(.end(["grpc-status": "0"])), promise: nil)
                    return
                }
                let message = GRPCFraming.decode(&body).first ?? ""
                var headers = HTTPHeaders()
                headers.add(name: "content-type", value: "application/grpc")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http2, status: .ok, headers: headers))), promise: nil)
                switch head.uri {
                case "/test.Echo/Unary":
                    context.write(wrapOutboundOut(.body(.byteBuffer(GRPCFraming.encode("echo: \(message)")))), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.end(["grpc-status": "0"])), promise: nil)
                case "/test.Echo/Stream":
                    let channel = context.channel
                    // Registered before `first` leaves: a client may release as soon as it sees it.
                    app.waitForRelease {
                        channel.eventLoop.execute {
                            channel.write(HTTPServerResponsePart.body(.byteBuffer(GRPCFraming.encode("second"))), promise: nil)
                            channel.writeAndFlush(HTTPServerResponsePart.end(["grpc-status": "0"]), promise: nil)
                        }
                    }
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(GRPCFraming.encode("first")))), promise: nil)
                default:
                    context.writeAndFlush(wrapOutboundOut(.end(["grpc-status": "5", "grpc-message": "not here"])), promise: nil)
                }
            }
        }
    }
}

// MARK: - An h2c gRPC client

enum GRPCEvent: Sendable {
    case head(HTTPResponseHead)
    case message(String)
    case end(HTTPHeaders?)
    case closed
}

/// An h2c (prior knowledge) connection to a sidecar's outbound listener; each call is a stream.
final class H2TestClient: @unchecked Sendable {
    let channel: any Channel
    let multiplexer: NIOHTTP2Handler.StreamMultiplexer

    private init(channel: any Channel, multiplexer: NIOHTTP2Handler.StreamMultiplexer) {
        self.channel = channel
        self.multiplexer = multiplexer
    }

    static func connect(host: String, port: Int = 15001) async throws -> H2TestClient {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let channel = try await ClientBootstrap(group: loop)
            .connect(host: host, port: port).get()
        let multiplexer = try await loop.submit {
            try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()
            ) { pushed in pushed.close() }
        }.get()
        return H2TestClient(channel: channel, multiplexer: multiplexer)
    }

    func close() async { try? await channel.close() }

    /// Starts a unary-request call; its response arrives as events.
    func call(_ path: String, authority: String = "greeter:8080", message: String, contentType: String = "application/grpc") async throws -> AsyncStream<GRPCEvent> {
        let (stream, events) = try await newStream()
        // The whole request in one flush, as a unary client sends it.
        stream.write(HTTPClientRequestPart.head(Self.requestHead(path, authority: authority, contentType: contentType)), promise: nil)
        stream.write(HTTPClientRequestPart.body(.byteBuffer(GRPCFraming.encode(message))), promise: nil)
        try await stream.writeAndFlush(HTTPClientRequestPart.end(nil))
        return events
    }

    /// Opens a call whose request messages the caller sends one by one (`send`), ending with `finish`.
    func open(_ path: String, authority: String = "greeter:8080") async throws -> (call: any Channel, events: AsyncStream<GRPCEvent>) {
        let (stream, events) = try await newStream()
        try await stream.writeAndFlush(HTTPClientRequestPart.head(Self.requestHead(path, authority: authority, contentType: "application/grpc")))
        return (stream, events)
    }

    private func newStream() async throws -> (any Channel, AsyncStream<GRPCEvent>) {
        let (events, continuation) = AsyncStream<GRPCEvent>.makeStream()
        let stream = try await multiplexer.createStreamChannel { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .http))
                try stream.pipeline.syncOperations.addHandler(Collector(continuation: continuation))
            }
        }.get()
        return (stream, events)
    }

    private static func requestHead(_ path: String, authority: String, contentType: String) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "host", value: authority)
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "te", value: "trailers")
        return HTTPRequestHead(version: .http2, method: .POST, uri: path, headers: headers)
    }

    static func send(_ message: String, on call: any Channel) async throws {
        try await call.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(GRPCFraming.encode(message))))
    }

    static func finish(_ call: any Channel) async throws {
        try await call.writeAndFlush(HTTPClientRequestPart.end(nil))
    }

    final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let continuation: AsyncStream<GRPCEvent>.Continuation
        var buffer = ByteBuffer()
        init(continuation: AsyncStream<GRPCEvent>.Continuation) { self.continuation = continuation }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                continuation.yield(.head(head))
            case .body(var part):
                buffer.writeBuffer(&part)
                for message in GRPCFraming.decode(&buffer) { continuation.yield(.message(message)) }
            case .end(let trailers):
                continuation.yield(.end(trailers))
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            continuation.yield(.closed)
            continuation.finish()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }
}

/// A whole call: `:status`, the messages, and the gRPC status (from the trailers, or from the
/// headers of a trailers-only answer).
struct GRPCResult {
    var status: Int?
    var headers = HTTPHeaders()
    var messages: [String] = []
    var trailers: HTTPHeaders?
    var ended = false

    var grpcStatus: String? { trailers?.first(name: "grpc-status") ?? headers.first(name: "grpc-status") }
    var grpcMessage: String? { trailers?.first(name: "grpc-message") ?? headers.first(name: "grpc-message") }

    static func collect(_ events: AsyncStream<GRPCEvent>) async -> GRPCResult {
        var result = GRPCResult()
        for await event in events {
            switch event {
            case .head(let head):
                result.status = Int(head.status.code)
                result.headers = head.headers
            case .message(let message): result.messages.append(message)
            case .end(let trailers):
                result.trailers = trailers
                result.ended = true
                return result
            case .closed: return result
            }
        }
        return result
    }
}

// MARK: - A mesh with a gRPC port and an HTTP/1.1 port

/// Client pod .1 and server pod .2 of a test address block, with the gRPC app on 8080 and the HTTP/1.1 echo app
/// on 8081; mTLS between the sidecars.
struct GRPCMesh {
    static let grpcFQDN = "greeter.default.svc.cluster.local"
    static let httpFQDN = "echo.default.svc.cluster.local"

    let clientIP: String
    let serverIP: String
    let grpcApp: GRPCTestApp
    let echoApp: EchoApp
    let client: SidecarProcess
    let server: SidecarProcess

    static func hosts(_ name: String, fqdn: String, port: Int) -> [HostMapping] {
        [name, "\(name).default", fqdn].flatMap { host in [HostMapping(host: host, service: fqdn), HostMapping(host: "\(host):\(port)", service: fqdn)] }
    }

    static func clientConfig(serverIP: String, grpcEndpoint: String? = nil) -> ProxyConfig {
        let identity = MeshPair.clientIdentity
        return ProxyConfig(
            version: "client-1",
            serviceIdentity: identity,
            outbound: OutboundConfig(
                trafficMatches: [
                    OutboundTrafficMatch(
                        port: 8080, appProtocol: .grpc, destinationIPRanges: ["10.96.0.20/32"], httpHostPort2Service: hosts("greeter", fqdn: grpcFQDN, port: 8080),
                        httpServiceRouteRules: [ServiceRouteRules(service: grpcFQDN, rules: [RouteRule(pathRegex: ".*", targetClusters: [WeightedCluster(name: "default/greeter|8080", weight: 100)])])],
                        serviceIdentity: identity),
                    OutboundTrafficMatch(
                        port: 8081, appProtocol: .http, destinationIPRanges: ["10.96.0.21/32"], httpHostPort2Service: hosts("echo", fqdn: httpFQDN, port: 8081),
                        httpServiceRouteRules: [ServiceRouteRules(service: httpFQDN, rules: [RouteRule(pathRegex: ".*", targetClusters: [WeightedCluster(name: "default/echo|8081", weight: 100)])])],
                        serviceIdentity: identity),
                ],
                clustersConfigs: [
                    ClusterConfig(name: "default/greeter|8080", endpoints: [ClusterEndpoint(address: grpcEndpoint ?? "\(serverIP):8080")]),
                    ClusterConfig(name: "default/echo|8081", endpoints: [ClusterEndpoint(address: "\(serverIP):8081")]),
                ]
            )
        )
    }

    static func serverConfig(serverIP: String, grpcAllowed: [String]? = nil) -> ProxyConfig {
        let grpcLocal = [WeightedCluster(name: "default/greeter|8080|local", weight: 100)]
        let httpLocal = [WeightedCluster(name: "default/echo|8081|local", weight: 100)]
        return ProxyConfig(
            version: "server-1",
            serviceIdentity: MeshPair.serverIdentity,
            inbound: InboundConfig(
                trafficMatches: [
                    InboundTrafficMatch(
                        port: 8080, appProtocol: .grpc, httpHostPort2Service: hosts("greeter", fqdn: grpcFQDN, port: 8080),
                        httpServiceRouteRules: [ServiceRouteRules(service: grpcFQDN, rules: [RouteRule(pathRegex: ".*", targetClusters: grpcLocal, allowedServices: grpcAllowed)])]),
                    InboundTrafficMatch(
                        port: 8081, appProtocol: .http, httpHostPort2Service: hosts("echo", fqdn: httpFQDN, port: 8081),
                        httpServiceRouteRules: [ServiceRouteRules(service: httpFQDN, rules: [RouteRule(pathRegex: ".*", targetClusters: httpLocal)])]),
                ],
                clustersConfigs: [
                    ClusterConfig(name: "default/greeter|8080|local", endpoints: [ClusterEndpoint(address: "\(serverIP):8080")]),
                    ClusterConfig(name: "default/echo|8081|local", endpoints: [ClusterEndpoint(address: "\(serverIP):8081")]),
                ]
            )
        )
    }

    /// `block`: the test's own lease when its configs name the pods' addresses, else a free one.
    static func run(block: LoopbackBlockLease? = nil, client: ProxyConfig? = nil, server: ProxyConfig? = nil, plaintextPeers: Bool = false,
                    tuneClient: (inout SidecarSettings) -> Void = { _ in },
                    _ body: (GRPCMesh) async throws -> Void) async throws {
        let lease = try block ?? TestAddressBlock.lease()
        defer { lease.release() }
        try await runLeased(block: lease, client: client, server: server, plaintextPeers: plaintextPeers, tuneClient: tuneClient, body)
    }

    private static func runLeased(block: LoopbackBlockLease, client: ProxyConfig?, server: ProxyConfig?, plaintextPeers: Bool,
                                  tuneClient: (inout SidecarSettings) -> Void, _ body: (GRPCMesh) async throws -> Void) async throws {
        let clientIP = block.address(1)
        let serverIP = block.address(2)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mesh-h2-\(block.block)-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try MeshPair.write(client ?? clientConfig(serverIP: serverIP), to: directory.appendingPathComponent("client.json"))
        try MeshPair.write(server ?? serverConfig(serverIP: serverIP), to: directory.appendingPathComponent("server.json"))
        let clientFiles = try MeshPair.certificates(for: MeshPair.clientIdentity, in: directory, name: "client")
        let serverFiles = try MeshPair.certificates(for: MeshPair.serverIdentity, in: directory, name: "server")
        let grpcApp = GRPCTestApp()
        let echoApp = EchoApp()
        try await grpcApp.start(host: serverIP, port: 8080)
        try await echoApp.start(host: serverIP, port: 8081)
        var clientSettings = SidecarSettings(podIP: clientIP, peerTransport: plaintextPeers ? .insecurePlaintext : .mutualTLS(clientFiles))
        tuneClient(&clientSettings)
        let clientSidecar = try await SidecarProcess.start(configPath: directory.appendingPathComponent("client.json").path,
                                                           settings: clientSettings, logger: MeshPair.quietLogger)
        let serverSidecar = try await SidecarProcess.start(configPath: directory.appendingPathComponent("server.json").path,
                                                           settings: SidecarSettings(podIP: serverIP, peerTransport: plaintextPeers ? .insecurePlaintext : .mutualTLS(serverFiles)), logger: MeshPair.quietLogger)
        let mesh = GRPCMesh(clientIP: clientIP, serverIP: serverIP, grpcApp: grpcApp, echoApp: echoApp, client: clientSidecar, server: serverSidecar)
        var failure: (any Error)?
        do { try await body(mesh) } catch { failure = error }
        grpcApp.releaseStreams()
        await clientSidecar.shutdown(drainTimeout: .milliseconds(200))
        await serverSidecar.shutdown(drainTimeout: .milliseconds(200))
        await grpcApp.stop()
        await echoApp.stop()
        try? FileManager.default.removeItem(at: directory)
        if let failure { throw failure }
    }

    func stats(_ sidecarIP: String) async throws -> [String: UInt64] {
        parseStats(try await MeshHTTP.request(host: sidecarIP, port: 15000, path: "/stats", timeout: .seconds(5)).body)
    }
}

// MARK: - Tests

@Suite(.timeLimit(.minutes(1)))
struct HTTP2Tests {
    @Test func unaryCallGoesThroughBothSidecarsOverHTTP2WithTrailers() async throws {
        // Only the client's identity may call: the server sidecar reads it from the mTLS
        // connection under the HTTP/2 stream.
        let block = try TestAddressBlock.lease()
        let server = GRPCMesh.serverConfig(serverIP: block.address(2), grpcAllowed: [MeshPair.clientIdentity])
        try await GRPCMesh.run(block: block, server: server) { mesh in
            let client = try await H2TestClient.connect(host: mesh.clientIP)
            let result = await GRPCResult.collect(try await client.call("/test.Echo/Unary", message: "hello"))
            #expect(result.status == 200)
            #expect(result.messages == ["echo: hello"])
            #expect(result.ended)
            #expect(result.trailers?.first(name: "grpc-status") == "0")
            // A second call on the same client connection reuses the sidecars' HTTP/2 connections.
            let again = await GRPCResult.collect(try await client.call("/test.Echo/Unary", message: "again"))
            #expect(again.messages == ["echo: again"])
            await client.close()

            // The app got the request over h2c, with `te: trailers` and without the mesh's own headers.
            let seen = mesh.grpcApp.seenHeaders
            #expect(seen.count == 2)
            #expect(seen.first?["te"] == "trailers")
            #expect(seen.first?["x-fsm-target-port"] == nil)
            #expect(seen.first?["content-type"] == "application/grpc")

            let clientStats = try await mesh.stats(mesh.clientIP)
            let serverStats = try await mesh.stats(mesh.serverIP)
            #expect(clientStats["runtime.downstream_cx_http2"] == 1)
            // One h2 connection client sidecar -> server sidecar (ALPN h2 inside mTLS), one server sidecar -> app.
            #expect(clientStats["runtime.upstream_cx_http2"] == 1)
            #expect(serverStats["runtime.downstream_cx_http2"] == 1)
            #expect(serverStats["runtime.upstream_cx_http2"] == 1)
            #expect(serverStats["runtime.tls_handshake_failed"] == 0)
        }
    }

    /// A complete HTTP/2 answer is logged without `DC`: the stream closes as its response ends,
    /// and the access-log line is taken before that (it was flagged as a client gone mid-answer).
    @Test func aCompleteHTTP2AnswerIsLoggedWithoutDownstreamTermination() async throws {
        let log = try AccessLogTests.LogFile()
        defer { log.remove() }
        let block = try TestAddressBlock.lease()
        let client = AccessLogTests.logging(GRPCMesh.clientConfig(serverIP: block.address(2)))
        try await GRPCMesh.run(block: block, client: client, tuneClient: { $0.accessLog = log.sink }) { mesh in
            let h2 = try await H2TestClient.connect(host: mesh.clientIP)
            let result = await GRPCResult.collect(try await h2.call("/test.Echo/Unary", message: "hello"))
            #expect(result.trailers?.first(name: "grpc-status") == "0")
            await h2.close()
            let entry = try #require(try await log.entries(count: 1).first)
            #expect(entry["response_code"] == .int(200))
            #expect(entry["response_flags"] == .string("-"))
        }
    }

    @Test func plaintextPeersSpeakH2CWithPriorKnowledge() async throws {
        // The explicit plaintext test mode: h2c between the sidecars, the identity in the header.
        let block = try TestAddressBlock.lease()
        let server = GRPCMesh.serverConfig(serverIP: block.address(2), grpcAllowed: [MeshPair.clientIdentity])
        try await GRPCMesh.run(block: block, server: server, plaintextPeers: true) { mesh in
            let client = try await H2TestClient.connect(host: mesh.clientIP)
            let result = await GRPCResult.collect(try await client.call("/test.Echo/Unary", message: "plain"))
            #expect(result.messages == ["echo: plain"])
            #expect(result.trailers?.first(name: "grpc-status") == "0")
            await client.close()
            let serverStats = try await mesh.stats(mesh.serverIP)
            #expect(serverStats["runtime.downstream_cx_http2"] == 1)
            #expect(mesh.grpcApp.seenHeaders.first?["x-fsm-source-identity"] == nil)
        }
    }

    @Test func serverStreamingMessagesArriveBeforeTheStreamEnds() async throws {
        try await GRPCMesh.run { mesh in
            let client = try await H2TestClient.connect(host: mesh.clientIP)
            var messages: [String] = []
            var trailers: HTTPHeaders?
            for await event in try await client.call("/test.Echo/Stream", message: "go") {
                switch event {
                case .message(let message):
                    messages.append(message)
                    // The app sends its second message only once the first reached the client:
                    // a sidecar that buffered the response would never get here.
                    if message == "first" { mesh.grpcApp.releaseStreams() }
                case .end(let received):
                    trailers = received
                case .head, .closed:
                    break
                }
                if trailers != nil { break }
            }
            #expect(messages == ["first", "second"])
            #expect(trailers?.first(name: "grpc-status") == "0")
            await client.close()
        }
    }

    @Test func applicationStatusAndMessageTrailersPassThrough() async throws {
        try await GRPCMesh.run { mesh in
            let client = try await H2TestClient.connect(host: mesh.clientIP)
            let result = await GRPCResult.collect(try await client.call("/test.Echo/Missing", message: "x"))
            #expect(result.status == 200)
            #expect(result.grpcStatus == "5")
            #expect(result.grpcMessage == "not here")
            await client.close()
        }
    }

    @Test func accessDeniedArrivesAsPermissionDenied() async throws {
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        try await GRPCMesh.run(block: block, server: GRPCMesh.serverConfig(serverIP: serverIP, grpcAllowed: ["someone-else.default.cluster.local"])) { mesh in
            let client = try await H2TestClient.connect(host: mesh.clientIP)
            let result = await GRPCResult.collect(try await client.call("/test.Echo/Unary", message: "x"))
            // Trailers-only: `:status` 200 and the gRPC status in the one HEADERS frame.
            #expect(result.status == 200)
            #expect(result.grpcStatus == "7")
            #expect(result.messages.isEmpty)
            #expect(result.headers.first(name: "content-type") == "application/grpc")
            await client.close()
            #expect(mesh.grpcApp.seenHeaders.isEmpty)
            let serverStats = try await mesh.stats(mesh.serverIP)
            #expect(serverStats["inbound.access_denied"] == 1)
            #expect(serverStats["runtime.downstream_rq_grpc_local_reply"] == 1)
        }
    }

    @Test func noReachableUpstreamArrivesAsUnavailable() async throws {
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        // The gRPC cluster's only endpoint has no sidecar listening.
        try await GRPCMesh.run(block: block, client: GRPCMesh.clientConfig(serverIP: serverIP, grpcEndpoint: block.address(9) + ":8080")) { mesh in
            let client = try await H2TestClient.connect(host: mesh.clientIP)
            let result = await GRPCResult.collect(try await client.call("/test.Echo/Unary", message: "x"))
            #expect(result.status == 200)
            #expect(result.grpcStatus == "14")
            #expect(result.grpcMessage?.isEmpty == false)
            await client.close()
            let clientStats = try await mesh.stats(mesh.clientIP)
            #expect(clientStats["runtime.downstream_rq_grpc_local_reply"] == 1)
            #expect((clientStats["runtime.upstream_cx_connect_fail"] ?? 0) >= 1)
        }
    }

    @Test func http1StillWorksOnTheSameListenersAndHTTP2ReachesAnHTTP1App() async throws {
        try await GRPCMesh.run { mesh in
            let plain = try await MeshHTTP.request(host: mesh.clientIP, port: 15001, path: "/plain", headers: [("host", "echo:8081")], timeout: .seconds(5))
            #expect(plain.status == 200)
            #expect(plain.body == "GET /plain ")
            // An HTTP/2 request to the HTTP/1.1 port: the sidecar speaks HTTP/1.1 upstream.
            let client = try await H2TestClient.connect(host: mesh.clientIP)
            let result = await GRPCResult.collect(try await client.call("/over-h2", authority: "echo:8081", message: "m", contentType: "application/octet-stream"))
            #expect(result.status == 200)
            #expect(result.ended)
            await client.close()
            let clientStats = try await mesh.stats(mesh.clientIP)
            #expect(clientStats["runtime.downstream_cx_http2"] == 1)
            #expect(clientStats["runtime.upstream_cx_http2"] == 0)
            #expect(mesh.echoApp.seenHeaders.count == 2)
        }
    }

    @Test func idleHTTP2ConnectionsAreClosedButNotWhileACallIsOpen() async throws {
        // 3 s: long enough that a busy machine opens the call below before its connection counts as idle.
        try await GRPCMesh.run(tuneClient: { $0.idleTimeout = .seconds(3) }) { mesh in
            // One whose call stays open (the app holds its stream) past the idle timeout.
            let busy = try await H2TestClient.connect(host: mesh.clientIP)
            var events = try await busy.call("/test.Echo/Stream", message: "hold").makeAsyncIterator()
            // A connection that sends the preface and never opens a stream.
            let silent = try await H2TestClient.connect(host: mesh.clientIP)
            var first: String?
            while first == nil, let event = await events.next() {
                if case .message(let message) = event { first = message }
                if case .closed = event { break }
            }
            #expect(first == "first")
            try await silent.channel.closeFuture.get()
            // The busy connection outlived the silent one: its stream is still open.
            #expect(busy.channel.isActive)
            mesh.grpcApp.releaseStreams()
            var trailers: HTTPHeaders?
            while trailers == nil, let event = await events.next() {
                if case .end(let received) = event { trailers = received }
                if case .closed = event { break }
            }
            #expect(trailers?.first(name: "grpc-status") == "0")
            // Once its last stream closed, it goes idle and is closed too.
            try await busy.channel.closeFuture.get()
            let stats = try await mesh.stats(mesh.clientIP)
            #expect(stats["runtime.downstream_cx_idle_timeout"] == 2)
        }
    }

    /// Found by fuzz-sidecar (an h2c GET and a gRPC call, then everything closed): the engine's
    /// connection of a gRPC port stayed in its pool, counted active, after the shared HTTP/2
    /// connection under it closed; an HTTP/1.1 connection leaves when it closes.
    @Test func anIdleGRPCConnectionLeavesThePoolWhenItsHTTP2ConnectionCloses() async throws {
        try await GRPCMesh.run { mesh in
            let client = try await H2TestClient.connect(host: mesh.clientIP)
            let result = await GRPCResult.collect(try await client.call("/test.Echo/Unary", message: "hello"))
            #expect(result.messages == ["echo: hello"])
            await client.close()
            let counter = "cluster.default/greeter|8080.upstream_cx_active"
            #expect(try await mesh.stats(mesh.clientIP)[counter] == 1)
            // The peer goes away: its end of the HTTP/2 connection closes.
            await mesh.server.shutdown(drainTimeout: .milliseconds(200))
            var active = try await mesh.stats(mesh.clientIP)[counter]
            for _ in 0..<100 where active != 0 {
                try await Task.sleep(for: .milliseconds(20))
                active = try await mesh.stats(mesh.clientIP)[counter]
            }
            #expect(active == 0)
        }
    }

    @Test func badPrefaceAndMalformedFramesCloseOnlyThatConnectionAndAreCounted() async throws {
        try await GRPCMesh.run { mesh in
            // A preface that breaks off after "PRI * HTTP/2.0".
            let badPreface = try await RawClient.exchange(host: mesh.clientIP, port: 15001, bytes: "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")
            #expect(badPreface.isEmpty)
            // A good preface, then a frame header announcing a DATA frame on stream 0 (a connection error).
            let frames = HTTP2TestBytes.preface + "\u{0}\u{0}\u{4}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}abcd"
            let answer = try await RawClient.exchange(host: mesh.clientIP, port: 15001, bytes: frames)
            // The sidecar's SETTINGS and then a GOAWAY came back before the close (frame header:
            // length 8, type 7, no flags, stream 0).
            #expect(answer.contains("\u{0}\u{0}\u{8}\u{7}\u{0}\u{0}\u{0}\u{0}\u{0}"))
            let stats = try await mesh.stats(mesh.clientIP)
            #expect(stats["runtime.downstream_cx_h2_bad_preface"] == 1)
            #expect(stats["runtime.downstream_cx_h2_protocol_error"] == 1)
            // Everything else keeps serving.
            let client = try await H2TestClient.connect(host: mesh.clientIP)
            let result = await GRPCResult.collect(try await client.call("/test.Echo/Unary", message: "still"))
            #expect(result.messages == ["echo: still"])
            await client.close()
        }
    }
}

enum HTTP2TestBytes {
    static let preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
}
