import MeshProxy
@testable import MeshRuntime
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The gateway's health probe handler under EmbeddedChannel: it writes the probe's GET when the
/// connection opens, reports the answer (status, headers, body) once, and a connection that ends
/// before an answer as a failure.
@Suite struct HealthProbeReaderTests {
    static func channel(_ outcomes: NIOLockedValueBox<[HealthProbeOutcome]>) throws -> EmbeddedChannel {
        let request = NIOHTTP1.HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz", headers: HTTPHeaders([("host", "10.4.0.2:8080")]))
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHTTPClientHandlers()
        try channel.pipeline.syncOperations.addHandler(HealthProbeReader(request: request) { outcome in outcomes.withLockedValue { $0.append(outcome) } })
        try channel.connect(to: SocketAddress(ipAddress: "10.4.0.2", port: 8080)).wait()
        return channel
    }

    @Test func theAnswerIsReportedOnce() throws {
        let outcomes = NIOLockedValueBox<[HealthProbeOutcome]>([])
        let channel = try Self.channel(outcomes)
        let written = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(String(buffer: written).hasPrefix("GET /healthz HTTP/1.1\r\n"))
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 503 Service Unavailable\r\nx-ready: no\r\ncontent-length: 19\r\n\r\nService unavailable"))
        _ = try? channel.finish()
        #expect(outcomes.withLockedValue { $0 } == [.answered(status: 503, headers: [HTTPHeader(name: "x-ready", value: "no"), HTTPHeader(name: "content-length", value: "19")],
                                                              body: "Service unavailable")])
    }

    @Test func aConnectionThatEndsBeforeAnAnswerIsAFailure() throws {
        let outcomes = NIOLockedValueBox<[HealthProbeOutcome]>([])
        let channel = try Self.channel(outcomes)
        try channel.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\npart"))
        _ = try? channel.finish()
        #expect(outcomes.withLockedValue { $0 } == [.failed])
    }
}
