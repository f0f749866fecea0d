import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// Tracing in the engine: the first sidecar starts a trace and sends B3 headers, the next hop is a
/// child of what the app forwarded, each exchange ends as a client span and each traced inbound
/// request as the shared server span; off, nothing is added and nothing recorded.
@Suite struct TracingEngineTests {
    static func traced(_ config: ProxyConfig, fraction: Double = 1) -> Sidecar {
        var config = config
        config.spec.tracing = TracingSpec(address: "127.0.0.1:9411", sampledFraction: fraction)
        return Sidecar(config: config)
    }

    static func headers(_ actions: [OutboundHTTPAction]) -> [HTTPHeader]? {
        for case let .setRequestHeaders(_, headers) in actions { return headers }
        return nil
    }

    @Test func theFirstHopStartsATraceAndItsAnswerEndsTheClientSpan() throws {
        var sidecar = Self.traced(Fixture.outbound())
        var random = SeededGenerator(seed: 4)
        let id = ExchangeID(1)
        let sent = sidecar.outboundRequest(id, head: Fixture.get("/get?x=1"), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let headers = try #require(Self.headers(sent))
        #expect(headers.map(\.name) == ["x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "x-request-id"])
        let context = try #require(B3Context(HTTPRequestHead(authority: "x", headers: headers)))
        let send = try #require(sent.sends.first)
        _ = sidecar.upstreamResponse(id, attempt: send.attempt, head: HTTPResponseHead(status: 200), now: MeshInstant(nanoseconds: 3_000_000), random: &random)
        let spans = sidecar.takeSpans()
        #expect(spans.count == 1)
        let span = try #require(spans.first)
        #expect(span.kind == .client && span.context == context && span.duration == .milliseconds(3))
        #expect(span.name == "GET /get" && span.remoteService == "httpbin" && span.tags["http.status_code"] == "200")
        #expect(sidecar.takeSpans().isEmpty)
    }

    @Test func theNextHopIsAChildOfWhatTheAppForwarded() throws {
        var sidecar = Self.traced(Fixture.outbound())
        var random = SeededGenerator(seed: 5)
        let incoming = [HTTPHeader(name: "x-b3-traceid", value: "463ac35c9f6413ad48485a3953bb6124"), HTTPHeader(name: "x-b3-spanid", value: "a2fb4a1d1a96d312"),
                        HTTPHeader(name: "x-request-id", value: "r-1")]
        let sent = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(headers: incoming), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let sentHeaders = try #require(Self.headers(sent))
        let context = try #require(B3Context(HTTPRequestHead(authority: "x", headers: sentHeaders)))
        #expect(context.traceID == "463ac35c9f6413ad48485a3953bb6124" && context.parentSpanID == 0xa2fb_4a1d_1a96_d312)
        #expect(Self.headers(sent)?.contains { $0.name == "x-request-id" } == false)
        // Not answered: a failed connect ends it as an error span.
        let connection = try #require(sent.sends.first?.connection)
        _ = sidecar.upstreamConnectionLost(connection, connectFailed: true, now: MeshInstant(nanoseconds: 1_000_000), random: &random)
        let span = try #require(sidecar.takeSpans().first)
        #expect(span.tags["http.status_code"] == "503" && span.tags["error"] == "true" && span.tags["response_flags"] == "UF")
    }

    @Test func unsampledTracesPropagateButRecordNothing() throws {
        var sidecar = Self.traced(Fixture.outbound(), fraction: 0)
        var random = SeededGenerator(seed: 6)
        let sent = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(Self.headers(sent)?.contains(HTTPHeader(name: "x-b3-sampled", value: "0")) == true)
        _ = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 200), now: MeshInstant(nanoseconds: 1_000_000), random: &random)
        #expect(sidecar.takeSpans().isEmpty)
    }

    @Test func withoutTracingNothingIsAdded() {
        var sidecar = Sidecar(config: Fixture.outbound())
        var random = SeededGenerator(seed: 7)
        let sent = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(Self.headers(sent) == nil)
        _ = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 200), now: MeshInstant(nanoseconds: 1_000_000), random: &random)
        #expect(sidecar.takeSpans().isEmpty)
    }

    @Test func aTracedInboundRequestEndsAsTheSharedServerSpan() throws {
        var sidecar = Self.traced(InboundTests.config())
        var request = InboundTests.request
        request.headers = [HTTPHeader(name: "x-b3-traceid", value: "48485a3953bb6124"), HTTPHeader(name: "x-b3-spanid", value: "0000000000000007"),
                           HTTPHeader(name: "x-b3-parentspanid", value: "0000000000000003")]
        _ = sidecar.inboundRequest(request, connection: ConnectionID(9), port: 14001, peerIdentity: InboundTests.buyer, now: MeshInstant(nanoseconds: 10_000_000))
        sidecar.inboundResponse(port: 14001, status: 200, latency: .milliseconds(2), connection: ConnectionID(9), now: MeshInstant(nanoseconds: 12_000_000))
        let span = try #require(sidecar.takeSpans().first)
        #expect(span.kind == .server && span.context.spanID == 7 && span.context.parentSpanID == 3 && span.duration == .milliseconds(2))
        #expect(span.localService == "bookstore" && span.remoteService == "bookbuyer")
        #expect(span.zipkinJSON(epochOffsetMicroseconds: 0).contains(#""shared":true"#))
    }
}
