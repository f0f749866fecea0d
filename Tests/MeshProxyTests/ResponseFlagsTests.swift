import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// The engine says why an exchange ended as Envoy's access log does: the flags travel on its
/// `respond` action and its inbound decisions, so both shells report the same.
@Suite("Response flags")
struct ResponseFlagsTests {
    @Test func printsAndParsesEnvoysShortNames() {
        #expect(ResponseFlags().description == "-")
        #expect(ResponseFlags([.upstreamConnectionFailure, .upstreamRetryLimitExceeded]).description == "UF,URX")
        #expect(ResponseFlags.named.count == 11)
        // The chain's own answers: a fault's abort is Envoy's FI; a redirect is no failure.
        #expect(ResponseFlags(LocalReason.faultAbort) == .faultInjected && ResponseFlags(LocalReason.faultAbort).description == "FI")
        #expect(ResponseFlags(LocalReason.redirect) == [])
        for entry in ResponseFlags.named { #expect(ResponseFlags(parsing: entry.name) == entry.flag) }
        #expect(ResponseFlags(parsing: "UF,URX") == [.upstreamConnectionFailure, .upstreamRetryLimitExceeded])
        #expect(ResponseFlags(parsing: "-") == [])
        #expect(ResponseFlags(parsing: "XX") == nil)
        #expect(ResponseFlags(parsing: "UF,") == nil)
    }

    @Test func noRouteNoEndpointAndOverflowAreFlagged() throws {
        var random = SeededGenerator(seed: 1)
        var sidecar = Sidecar(config: Fixture.outbound())
        let unknownHost = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(host: "nowhere:14001"), destination: SocketAddress(ip: "10.96.9.9", port: 80), now: .zero, random: &random)
        #expect(unknownHost.responseFlags == [.noRoute])

        var empty = Sidecar(config: Fixture.outbound(endpoints: []))
        #expect(empty.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).responseFlags == [.noHealthyUpstream])

        var settings = ConnectionSettings()
        settings.tcp.maxConnections = 1
        settings.http.maxPendingRequests = 0
        var limited = Sidecar(config: Fixture.outbound(settings: settings))
        let first = limited.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(first.responseFlags.isEmpty && first.sends.count == 1)
        let overflow = limited.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(overflow.responseFlags == [.upstreamOverflow])
        // The upstream's own answer carries no flag, whatever its status.
        let answered = limited.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 503), now: ms(1), random: &random)
        #expect(answered.responseFlags == [[]])
    }

    @Test func connectFailureAndResetAreToldApartAndExhaustedRetriesAdded() throws {
        var random = SeededGenerator(seed: 2)
        var plain = Sidecar(config: Fixture.outbound())
        _ = plain.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(plain.upstreamConnectFailed(ExchangeID(1), attempt: 1, now: ms(1), random: &random).responseFlags == [.upstreamConnectionFailure])
        _ = plain.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: ms(2), random: &random)
        let reset = plain.upstreamResponse(ExchangeID(2), attempt: 1, head: HTTPResponseHead(status: 0), now: ms(3), random: &random)
        #expect(reset.responseFlags == [.upstreamConnectionTermination])

        let policy = RetryPolicy(retryOn: "connect-failure", numRetries: 1, retryBackoffBaseInterval: .milliseconds(5))
        var retrying = Sidecar(config: Fixture.outbound(retry: policy))
        _ = retrying.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let backoff = try #require(retrying.upstreamConnectFailed(ExchangeID(1), attempt: 1, now: ms(1), random: &random).timers.first)
        let second = try #require(retrying.timerFired(backoff.timer, now: ms(50), random: &random).sends.first)
        let final = retrying.upstreamConnectFailed(ExchangeID(1), attempt: second.attempt, now: ms(51), random: &random)
        #expect(final.responseFlags == [[.upstreamConnectionFailure, .upstreamRetryLimitExceeded]])
        #expect(final.responseFlags.first?.description == "UF,URX")
    }

    @Test func theRouteTimeoutIsUT() throws {
        var random = SeededGenerator(seed: 3)
        var settings = ConnectionSettings()
        settings.http.requestTimeout = .seconds(1)
        var sidecar = Sidecar(config: Fixture.outbound(settings: settings))
        _ = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let timedOut = sidecar.timerFired(.requestTimeout(ExchangeID(1)), now: seconds(1), random: &random)
        #expect(timedOut.responses.first?.head.status == 504)
        #expect(timedOut.responseFlags == [.upstreamRequestTimeout])
    }

    @Test func inboundRateLimitAndNoRouteDecisionsAreFlagged() {
        let limit = RateLimitConfig(limit: 1, period: .seconds(60), capacity: 1)
        var sidecar = Sidecar(config: InboundTests.config(serviceLimit: limit, tcpLimit: limit))
        let first = sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 14001, peerIdentity: InboundTests.buyer, now: .zero)
        #expect(first.responseFlags.isEmpty)
        let limited = sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 14001, peerIdentity: InboundTests.buyer, now: .zero)
        #expect(limited.responseFlags == .rateLimited)
        let denied = sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 14001, peerIdentity: InboundTests.thief, now: .zero)
        #expect(denied.responseFlags.isEmpty)
        #expect(sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 9999, peerIdentity: nil, now: .zero).responseFlags == .noRoute)
        _ = sidecar.inboundConnection(ConnectionID(2), port: 8078, source: InboundTests.peer, peerIdentity: InboundTests.buyer, now: .zero)
        #expect(sidecar.inboundConnection(ConnectionID(3), port: 8078, source: InboundTests.peer, peerIdentity: InboundTests.buyer, now: .zero).responseFlags == .rateLimited)
    }
}
