import MeshModel
@testable import MeshRuntime
import NIOCore
import NIOEmbedded
import Testing

/// The inbound listener's handler under NIO's EmbeddedChannel: a peer sidecar's request in, the
/// engine's decision (forward to the app, or answer), the app's response streamed back, the app
/// connection's failures as the peer sees them, and the idle deadline through the driver's clock.
@Suite struct InboundDownstreamHandlerTests {
    static let clientIP = "127.88.3.1"
    static let serverIP = "127.88.3.2"
    static let request = "GET /x HTTP/1.1\r\nHost: echo:8080\r\nx-fsm-target-port: 8080\r\nx-fsm-source-identity: \(MeshPair.clientIdentity)\r\n"
        + "x-fsm-stats-pod: client-1\r\n\r\n"

    static func sidecar() throws -> EmbeddedSidecar {
        try EmbeddedSidecar(config: MeshPair.serverConfig(serverIP: serverIP), podIP: serverIP, clientIP: clientIP, listener: .inbound)
    }

    @Test func aPeerRequestReachesTheAppWithoutTheMeshHeadersAndTheAnswerStreamsBack() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send(Self.request)
        #expect(sidecar.dialled == ["\(Self.serverIP):8080"])
        let toApp = sidecar.upstreamRequest()
        #expect(toApp.hasPrefix("GET /x HTTP/1.1\r\n"))
        #expect(!toApp.contains("x-fsm-"), "\(toApp)")
        try sidecar.upstreamAnswers("HTTP/1.1 201 Created\r\ncontent-length: 3\r\n\r\nnew")
        let answer = sidecar.answer()
        #expect(answer.hasPrefix("HTTP/1.1 201 Created\r\n") && answer.hasSuffix("\r\n\r\nnew"))
        // The next request on the connection reuses the app connection.
        try sidecar.send(Self.request)
        #expect(sidecar.upstreams.count == 1)
        #expect(sidecar.upstreamRequest().hasPrefix("GET /x HTTP/1.1\r\n"))
    }

    /// Hop-by-hop headers from the peer stay behind; the others reach the app in their order,
    /// with the sidecar's framing and one `connection: keep-alive`.
    @Test func hopByHopHeadersStayBehindAndTheOthersReachTheAppInOrder() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send(Self.request.replacing("Host: echo:8080\r\n", with: "Host: echo:8080\r\nx-first: 1\r\nConnection: close\r\n"
            + "Upgrade: h2c\r\nTrailer: x-t\r\nx-second: 2\r\n"))
        let toApp = sidecar.upstreamRequest()
        let lines = toApp.split(separator: "\r\n").map(String.init)
        #expect(lines.filter { $0.lowercased().hasPrefix("connection:") } == ["connection: keep-alive"])
        #expect(!lines.contains { $0.lowercased().hasPrefix("upgrade:") || $0.lowercased().hasPrefix("trailer:") }, "\(toApp)")
        let first = try #require(lines.firstIndex(of: "x-first: 1"))
        let second = try #require(lines.firstIndex(of: "x-second: 2"))
        #expect(first < second)
    }

    @Test func aPortTheEngineDoesNotServeGetsNoAppConnection() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send(Self.request.replacing("x-fsm-target-port: 8080", with: "x-fsm-target-port: 9999"))
        #expect(sidecar.upstreams.isEmpty)
        #expect(sidecar.driver.requestsInProgress == 0)
    }

    @Test func theAppResettingBeforeItsAnswerClosesThePeersConnection() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send(Self.request)
        sidecar.upstreams[0].close(promise: nil)
        sidecar.loop.run()
        #expect(sidecar.answer().isEmpty)
        #expect(!sidecar.appChannel.isActive)
    }

    @Test func theAppGoingMidResponseCutsThePeersResponseShort() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send(Self.request)
        try sidecar.upstreamAnswers("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf")
        #expect(sidecar.answer().hasSuffix("half"))
        sidecar.upstreams[0].close(promise: nil)
        sidecar.loop.run()
        #expect(!sidecar.appChannel.isActive)
    }

    @Test func anIdlePeerConnectionClosesWhenTheClockPassesTheIdleTimeout() throws {
        let sidecar = try EmbeddedSidecar(config: MeshPair.serverConfig(serverIP: Self.serverIP), podIP: Self.serverIP, clientIP: Self.clientIP,
                                          listener: .inbound) { $0.idleTimeout = .seconds(30) }
        defer { sidecar.close() }
        try sidecar.send(Self.request)
        try sidecar.upstreamAnswers("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        sidecar.advance(.seconds(29))
        #expect(sidecar.appChannel.isActive)
        sidecar.advance(.seconds(1))
        #expect(!sidecar.appChannel.isActive)
        #expect(sidecar.stat("runtime.downstream_cx_idle_timeout") == 1)
    }
}
