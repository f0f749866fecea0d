import MeshProxy
@testable import MeshRuntime
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The request side both listeners share, through its narrow seam (`DownstreamRequestDriver`): a
/// double records what it is asked, an EmbeddedChannel with NIO's HTTP server codec carries the
/// bytes, and a minimal handler answers each started request locally.
@Suite struct DownstreamRequestSideTests {
    final class DriverDouble: DownstreamRequestDriver {
        var replayLimit = 16
        var isDraining = false
        var inProgress = 0
        var rejected: [(status: Int, listener: ListenerKind)] = []
        var grpcAnswers = 0

        func requestStarted() { inProgress += 1 }
        func requestEnded() { inProgress -= 1 }
        func readOriginalDestination(of channel: any Channel, _ found: @escaping (MeshProxy.SocketAddress?) -> Void) {}
        func countRejected(_ rejection: RequestHeadCheck.Rejection, listener: ListenerKind, detail: String) {
            rejected.append((rejection.status, listener))
        }
        func localAnswer(_ head: MeshProxy.HTTPResponseHead, grpc: Bool) -> MeshProxy.HTTPResponseHead {
            if grpc { grpcAnswers += 1 }
            return head
        }
    }

    /// Starts each request and, unless told to hold it, answers it with `status`.
    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        let side: DownstreamRequestSide
        var started: [(head: NIOHTTP1.HTTPRequestHead, streaming: Bool)] = []
        var holds = false
        var status = 204

        init(side: DownstreamRequestSide) { self.side = side }

        func handlerAdded(context: ChannelHandlerContext) { side.added(context) }
        func handlerRemoved(context: ChannelHandlerContext) { side.removed() }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { take(side.read(unwrapInboundIn(data), context: context)) }
        func channelReadComplete(context: ChannelHandlerContext) { take(side.readComplete(context: context)) }
        func channelInactive(context: ChannelHandlerContext) { side.connectionClosed() }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { side.error(error, context: context, answering: false) }

        private func take(_ step: RequestIntake.Step) {
            guard case .start(let head, let body) = step else { return }
            side.started()
            started.append((head, body.map { !$0.isComplete } ?? false))
            if !holds { side.respondLocally(MeshProxy.HTTPResponseHead(status: status)) }
        }
    }

    struct Rig {
        let channel = EmbeddedChannel()
        let driver = DriverDouble()
        let handler: Handler

        init(listener: ListenerKind = .outbound) throws {
            handler = Handler(side: DownstreamRequestSide(driver: driver, listener: listener, handlers: nil))
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func send(_ text: String) throws { try channel.writeInbound(ByteBuffer(string: text)) }
        func answer() -> String { EmbeddedSidecar.drain(channel) }
    }

    @Test func aRequestStartsOnceAndItsLocalAnswerEndsIt() throws {
        let rig = try Rig()
        try rig.send("GET /a HTTP/1.1\r\nHost: echo:8080\r\n\r\n")
        #expect(rig.handler.started.map { $0.head.uri } == ["/a"])
        #expect(rig.answer().hasPrefix("HTTP/1.1 204 No Content\r\n"))
        #expect(rig.driver.inProgress == 0)
        #expect(rig.channel.isActive, "kept alive")
    }

    @Test func aRequestInProgressCountsForTheDrainUntilItIsAnswered() throws {
        let rig = try Rig()
        rig.handler.holds = true
        try rig.send("GET /a HTTP/1.1\r\nHost: echo:8080\r\n\r\n")
        #expect(rig.driver.inProgress == 1)
        rig.driver.isDraining = true
        rig.handler.side.respondLocally(MeshProxy.HTTPResponseHead(status: 200))
        #expect(rig.driver.inProgress == 0)
        #expect(rig.answer().contains("connection: close"), "draining: the connection is not kept")
    }

    /// Where the Host routes (outbound) a request without one is refused; inbound it only informs.
    @Test func theHeadChecksDependOnTheListener() throws {
        let outbound = try Rig(listener: .outbound)
        try outbound.send("GET / HTTP/1.0\r\n\r\n")
        #expect(outbound.answer().hasPrefix("HTTP/1.0 400"))
        #expect(outbound.handler.started.isEmpty)
        #expect(outbound.driver.rejected.map { $0.status } == [400])
        #expect(outbound.driver.rejected.map { $0.listener } == [.outbound])

        let inbound = try Rig(listener: .inbound)
        try inbound.send("GET / HTTP/1.0\r\n\r\n")
        #expect(inbound.handler.started.count == 1)
        #expect(inbound.driver.rejected.isEmpty)
    }

    @Test func aMalformedRequestIsAnswered400ThroughTheDriversCount() throws {
        let rig = try Rig()
        try? rig.send("NOT HTTP\r\n\r\n")
        #expect(rig.answer().hasPrefix("HTTP/1.1 400"))
        #expect(rig.driver.rejected.map { $0.status } == [400])
    }

    @Test func aBodyStillComingStartsTheRequestAtTheEndOfTheRead() throws {
        let rig = try Rig()
        rig.handler.holds = true
        try rig.send("POST /up HTTP/1.1\r\nHost: echo:8080\r\ncontent-length: 100\r\n\r\nfirst part")
        #expect(rig.handler.started.count == 1)
        #expect(rig.handler.started.first?.streaming == true)
    }

    @Test func aGRPCRequestsLocalAnswerGoesThroughTheGRPCMapping() throws {
        let rig = try Rig()
        rig.handler.status = 503
        try rig.send("POST /pkg.Svc/Call HTTP/1.1\r\nHost: echo:8080\r\ncontent-type: application/grpc\r\ncontent-length: 0\r\n\r\n")
        #expect(rig.driver.grpcAnswers == 1)
    }
}
