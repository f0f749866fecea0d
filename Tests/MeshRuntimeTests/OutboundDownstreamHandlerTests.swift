import MeshModel
@testable import MeshRuntime
import NIOCore
import NIOEmbedded
import Testing

/// The outbound listener's handler under NIO's EmbeddedChannel: an app's request in, the engine's
/// decision out (the upstream request, or a local answer), the response written back, and the
/// listener's deadlines firing through the driver's clock (virtual time).
@Suite struct OutboundDownstreamHandlerTests {
    static let clientIP = "127.88.2.1"
    static let serverIP = "127.88.2.2"

    static func sidecar() throws -> EmbeddedSidecar {
        try EmbeddedSidecar(config: MeshPair.clientConfig(serverIP: serverIP), podIP: clientIP)
    }

    @Test func aRequestGoesToThePeerSidecarAndItsResponseComesBack() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send("GET /hello HTTP/1.1\r\nHost: echo:8080\r\nx-fsm-source-identity: forged\r\n\r\n")
        // Local mode: the peer sidecar's inbound listener, naming the port the request was for.
        #expect(sidecar.dialled == ["\(Self.serverIP):15003"])
        let upstream = sidecar.upstreamRequest()
        #expect(upstream.hasPrefix("GET /hello HTTP/1.1\r\n"))
        #expect(upstream.contains("x-fsm-target-port: 8080\r\n"))
        // The app cannot pose as another identity: its header is replaced by the sidecar's.
        #expect(upstream.contains("x-fsm-source-identity: \(MeshPair.clientIdentity)\r\n"))
        #expect(!upstream.contains("forged"))
        #expect(sidecar.answer().isEmpty)
        try sidecar.upstreamAnswers("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")
        let answer = sidecar.answer()
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.contains("connection: keep-alive"))
        #expect(answer.hasSuffix("\r\n\r\nhello"))
        #expect(sidecar.driver.requestsInProgress == 0)
    }

    /// The app's hop-by-hop and mesh headers stay behind; its others go on in their order, with
    /// the sidecar's framing, identity and one `connection: keep-alive`.
    @Test func hopByHopAndMeshHeadersStayBehindAndTheOthersKeepTheirOrder() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send("GET /h HTTP/1.1\r\nHost: echo:8080\r\nx-first: 1\r\nConnection: keep-alive, x-first\r\nKeep-Alive: timeout=5\r\n"
            + "proxy-connection: keep-alive\r\nTE: gzip\r\nX-FSM-Stats-Pod: forged\r\nx-second: 2\r\n\r\n")
        let upstream = sidecar.upstreamRequest()
        let lines = upstream.split(separator: "\r\n").map(String.init)
        #expect(lines.filter { $0.lowercased().hasPrefix("connection:") } == ["connection: keep-alive"])
        for gone in ["keep-alive:", "proxy-connection:", "te:", "x-fsm-stats-pod: forged"] {
            #expect(!lines.contains { $0.lowercased().hasPrefix(gone.lowercased()) }, "\(gone) in \(upstream)")
        }
        let first = try #require(lines.firstIndex(of: "x-first: 1"))
        let second = try #require(lines.firstIndex(of: "x-second: 2"))
        #expect(first < second)
        #expect(lines.contains("content-length: 0"))
    }

    @Test func aRequestWithoutHostIsRefusedWithoutReachingTheEngine() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send("GET / HTTP/1.0\r\n\r\n")
        let answer = sidecar.answer()
        #expect(answer.hasPrefix("HTTP/1.0 400"))
        #expect(answer.contains("connection: close"))
        #expect(sidecar.upstreams.isEmpty)
        #expect(sidecar.stat("runtime.downstream_rq_bad_request") == 1)
    }

    @Test func aMalformedRequestIs400AndCounted() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try? sidecar.send("NOT HTTP AT ALL\r\n\r\n")
        #expect(sidecar.answer().hasPrefix("HTTP/1.1 400"))
        #expect(sidecar.stat("runtime.downstream_rq_bad_request") == 1)
        #expect(sidecar.upstreams.isEmpty)
    }

    /// No traffic match names the host: the engine's decision is to close without an answer
    /// (status 0), and nothing goes upstream.
    @Test func anUnknownServiceIsClosedWithoutAnAnswerAsTheEngineDecides() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send("GET / HTTP/1.1\r\nHost: nowhere:9999\r\n\r\n")
        #expect(sidecar.answer().isEmpty)
        #expect(!sidecar.appChannel.isActive)
        #expect(sidecar.upstreams.isEmpty)
        #expect(sidecar.driver.requestsInProgress == 0)
    }

    @Test func expectContinueIsAnsweredByTheSidecarAndNotForwarded() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send("POST /up HTTP/1.1\r\nHost: echo:8080\r\ncontent-length: 2\r\nexpect: 100-continue\r\n\r\n")
        #expect(sidecar.answer().hasPrefix("HTTP/1.1 100 Continue"))
        try sidecar.send("ok")
        let upstream = sidecar.upstreamRequest()
        #expect(upstream.hasPrefix("POST /up HTTP/1.1\r\n") && upstream.hasSuffix("\r\n\r\nok"))
        #expect(!upstream.lowercased().contains("expect:"))
    }

    /// The listener's slowloris deadline, through the driver's clock: a head still incomplete 10 s
    /// after its first byte gets 408 and the connection closes.
    @Test func aHeadTooSlowGets408WhenTheClockPassesTheHeaderTimeout() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send("GET / HTTP/1.1\r\nHost: ec")
        sidecar.advance(.milliseconds(9999))
        #expect(sidecar.answer().isEmpty)
        sidecar.advance(.milliseconds(1))
        #expect(sidecar.answer().hasPrefix("HTTP/1.1 408"))
        #expect(!sidecar.appChannel.isActive)
        #expect(sidecar.stat("runtime.downstream_rq_header_timeout") == 1)
    }

    @Test func theAppGoingAwayCancelsItsExchange() throws {
        let sidecar = try Self.sidecar()
        defer { sidecar.close() }
        try sidecar.send("GET /slow HTTP/1.1\r\nHost: echo:8080\r\n\r\n")
        #expect(sidecar.driver.occupancy.exchanges == 1)
        sidecar.appChannel.close(promise: nil)
        sidecar.loop.run()
        #expect(sidecar.driver.occupancy.exchanges == 0)
        #expect(sidecar.driver.requestsInProgress == 0)
    }
}
