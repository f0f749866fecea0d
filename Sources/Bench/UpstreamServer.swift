import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The origin every data-plane mode reaches: answers any request with 200 and a fixed body of
/// `bodyBytes` 'x' (keep-alive, content-length), on one event loop.
enum UpstreamServer {
    static func start(host: String, port: Int, bodyBytes: Int, group: any EventLoopGroup) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(FixedResponder(bodyBytes: bodyBytes, allocator: channel.allocator))
                }
            }
            .bind(host: host, port: port).get()
    }

    final class FixedResponder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let body: ByteBuffer
        let head: HTTPResponseHead

        init(bodyBytes: Int, allocator: ByteBufferAllocator) {
            body = allocator.buffer(repeating: UInt8(ascii: "x"), count: bodyBytes)
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: String(bodyBytes))
            headers.add(name: "content-type", value: "text/plain")
            head = HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}

/// `bench upstream`: runs until killed. Several hosts:
/// one listener each, all served by the same event loop (the same upstream for every mode).
func runUpstream(host: String, port: Int, bodyBytes: Int) -> Never {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let (hosts, listenPort, size) = (host.split(separator: ",").map(String.init), port, bodyBytes)
    let started = blockingRun {
        for listenHost in hosts { _ = try await UpstreamServer.start(host: listenHost, port: listenPort, bodyBytes: size, group: group) }
    }
    switch started {
    case .success:
        DataPlaneLog.info("upstream listening on \(host):\(port), body \(bodyBytes) bytes")
        while true { sleep(3600) }
    case .failure(let error):
        DataPlaneLog.fail("upstream could not listen on \(host):\(port): \(error)")
    }
}
