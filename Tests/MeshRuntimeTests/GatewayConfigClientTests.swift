import Foundation
import MeshModel
import MeshShell
import MeshTesting
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import MeshRuntime

/// The gateway's config polling against a controller double (on a test address block) that serves the config
/// it is given: a refused config is counted and kept out, the last good one keeps serving, the
/// refused version is named in later polls, and a newer config is taken.
@Suite(.timeLimit(.minutes(1)))
struct GatewayConfigClientTests {
    /// Answers `GET /v1/gateways/...` with the current config (304 when the poll names its version).
    final class ControllerDouble: @unchecked Sendable {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        private let state = NIOLockedValueBox<(config: GatewayConfig?, polls: [String])>((nil, []))
        private var channel: (any Channel)?

        var polls: [String] { state.withLockedValue { $0.polls } }
        func serve(_ config: GatewayConfig) { state.withLockedValue { $0.config = config } }

        func start(host: String, port: Int) async throws {
            let double = self
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(Handler(double: double))
                    }
                }
                .bind(host: host, port: port).get()
        }

        func stop() async {
            try? await channel?.close()
            try? await group.shutdownGracefully()
        }

        func answer(_ uri: String) -> (HTTPResponseStatus, HTTPHeaders, String) {
            let config = state.withLockedValue { state -> GatewayConfig? in
                state.polls.append(uri)
                return state.config
            }
            guard let config else { return (.notFound, HTTPHeaders(), "no gateway config\n") }
            if uri.hasSuffix("?version=\(config.version)") { return (.notModified, HTTPHeaders([("x-fsm-config-version", config.version)]), "") }
            let body = String(decoding: try! JSONEncoder().encode(config), as: UTF8.self)
            return (.ok, HTTPHeaders([("content-type", "application/json"), ("x-fsm-config-version", config.version)]), body)
        }

        final class Handler: ChannelInboundHandler, @unchecked Sendable {
            typealias InboundIn = HTTPServerRequestPart
            typealias OutboundOut = HTTPServerResponsePart
            let double: ControllerDouble
            init(double: ControllerDouble) { self.double = double }

            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                guard case .head(let head) = unwrapInboundIn(data) else { return }
                var (status, headers, body) = double.answer(head.uri)
                headers.add(name: "content-length", value: String(body.utf8.count))
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }

    @Test func aRefusedConfigIsCountedAndTheLastGoodOneServes() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let ip = block.address(1)
        let controller = ControllerDouble()
        try await controller.start(host: block.address(2), port: 6060)
        defer { Task { await controller.stop() } }
        let listener = GatewayConfig.Listener(name: "tcp", port: 8000, protocol: .tcp)
        controller.serve(GatewayFixtures.config(version: "v1", [listener]))
        var endpoint = try #require(GatewayEndpoint(url: "http://\(block.address(2)):6060", gateway: "httpbin/simple-fsm-gateway", credential: .token("t")))
        endpoint.interval = .milliseconds(20)
        let gateway = try await GatewayProcess.start(settings: GatewayFixtures.settings(ip), engine: ScriptedGatewayEngine(), controller: endpoint,
                                                     logger: GatewayFixtures.quietLogger)
        defer { Task { await gateway.shutdown(drainTimeout: .zero) } }
        try await GatewayFixtures.eventually("v1 is applied and bound") {
            (try? await GatewayFixtures.admin(ip, "/ready"))?.status == 200
        }
        controller.serve(GatewayFixtures.config(version: "refused", [GatewayConfig.Listener(name: "other", port: 8005, protocol: .tcp)]))
        try await GatewayFixtures.eventually("the refused version is named in the polls") {
            controller.polls.contains { $0.hasSuffix("?version=refused") }
        }
        let stats = parseStats(try await GatewayFixtures.admin(ip, "/stats").body)
        #expect(stats["runtime.config_rejected"] == 1)
        #expect(try await GatewayFixtures.admin(ip, "/config").body.contains("\"version\" : \"v1\""))
        #expect(await gateway.address(of: .init(port: 8005, kind: .tcp)) == nil)
        controller.serve(GatewayFixtures.config(version: "v2", [GatewayConfig.Listener(name: "other", port: 8005, protocol: .tcp)]))
        try await GatewayFixtures.eventually("v2 replaces v1") {
            await gateway.address(of: .init(port: 8005, kind: .tcp)) != nil
        }
        #expect(await gateway.address(of: .init(port: 8000, kind: .tcp)) == nil)
        #expect(parseStats(try await GatewayFixtures.admin(ip, "/stats").body)["runtime.config_rejected"] == 1)
    }
}
