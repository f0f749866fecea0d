import MeshModel
import Testing
@testable import MeshProxy

@Suite("Inbound access and rate limits")
struct InboundTests {
    static let local = "bookstore/bookstore|14001|local"
    static let buyer = "bookbuyer.bookbuyer.cluster.local"
    static let thief = "bookthief.bookthief.cluster.local"

    static func config(allowed: [String]? = [buyer], serviceLimit: RateLimitConfig? = nil, routeLimit: RateLimitConfig? = nil, tcpLimit: RateLimitConfig? = nil) -> ProxyConfig {
        let service = "bookstore.bookstore.svc.cluster.local"
        let rules = [RouteRule(pathRegex: "/books-bought", methods: ["GET"], targetClusters: [WeightedCluster(name: local, weight: 100)], allowedServices: allowed, rateLimit: routeLimit)]
        let http = InboundTrafficMatch(
            port: 14001, appProtocol: .http,
            httpHostPort2Service: Fixture.hostMappings(service: service, short: "bookstore", namespace: "bookstore"),
            httpServiceRouteRules: [ServiceRouteRules(service: service, rules: rules, rateLimit: serviceLimit)],
            tcpRateLimit: tcpLimit
        )
        let tcp = InboundTrafficMatch(port: 8078, appProtocol: .tcp, targetClusters: [WeightedCluster(name: "demo/fortio|8078|local", weight: 100)], allowedEndpoints: allowed, tcpRateLimit: tcpLimit)
        let clusters = [
            ClusterConfig(name: local, endpoints: [ClusterEndpoint(address: "127.0.0.1:14001")]),
            ClusterConfig(name: "demo/fortio|8078|local", endpoints: [ClusterEndpoint(address: "127.0.0.1:8078")]),
        ]
        return ProxyConfig(serviceIdentity: "bookstore.bookstore.cluster.local", inbound: InboundConfig(trafficMatches: [http, tcp], clustersConfigs: clusters))
    }

    static let request = HTTPRequestHead(method: "GET", path: "/books-bought", authority: "bookstore.bookstore:14001")
    static let peer = SocketAddress(ip: "10.244.0.7", port: 40000)

    @Test func allowedIdentityIsForwardedOthersGet403() {
        var sidecar = Sidecar(config: InboundTests.config())
        #expect(sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 14001, peerIdentity: InboundTests.buyer, now: .zero)
            == .forward(cluster: InboundTests.local, endpoint: SocketAddress(ip: "127.0.0.1", port: 14001), appProtocol: .http))
        #expect(sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(2), port: 14001, peerIdentity: InboundTests.thief, now: .zero)
            == .respond(HTTPResponseHead(status: 403), .accessDenied))
        #expect(sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(3), port: 14001, peerIdentity: nil, now: .zero)
            == .respond(HTTPResponseHead(status: 403), .accessDenied))
        var unmatched = InboundTests.request
        unmatched.path = "/elsewhere"
        #expect(sidecar.inboundRequest(unmatched, connection: ConnectionID(1), port: 14001, peerIdentity: InboundTests.buyer, now: .zero)
            == .respond(HTTPResponseHead(status: 403), .accessDenied))
        #expect(sidecar.stats.value("inbound.access_denied") == 3)
        #expect(sidecar.stats.value("inbound.rq_total") == 4)
        #expect(sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 9999, peerIdentity: InboundTests.buyer, now: .zero)
            == .respond(HTTPResponseHead(status: 0), .noRoute))
    }

    @Test func permissiveRulesAllowEveryone() {
        var sidecar = Sidecar(config: InboundTests.config(allowed: nil))
        if case .forward = sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 14001, peerIdentity: nil, now: .zero) {} else {
            Issue.record("permissive route should forward")
        }
    }

    @Test func tcpAllowedEndpoints() {
        var sidecar = Sidecar(config: InboundTests.config())
        #expect(sidecar.inboundConnection(ConnectionID(1), port: 8078, source: InboundTests.peer, peerIdentity: InboundTests.buyer, now: .zero) == .accept)
        #expect(sidecar.inboundConnection(ConnectionID(2), port: 8078, source: InboundTests.peer, peerIdentity: InboundTests.thief, now: .zero) == .close(.accessDenied))
        // Without a mesh identity the border refuses it first.
        #expect(sidecar.inboundConnection(ConnectionID(3), port: 8078, source: InboundTests.peer, peerIdentity: nil, now: .zero) == .close(.accessDenied))
        #expect(sidecar.stats.value("inbound.cx_no_identity") == 1)
        #expect(sidecar.inboundConnection(ConnectionID(4), port: 1234, source: InboundTests.peer, peerIdentity: InboundTests.buyer, now: .zero) == .close(.noRoute))
        #expect(sidecar.stats.value("inbound.cx_active") == 1)
        sidecar.inboundConnectionClosed(ConnectionID(1))
        sidecar.inboundConnectionClosed(ConnectionID(77))
        #expect(sidecar.stats.value("inbound.cx_active") == 0)
    }

    @Test func threePerMinuteNoBurstPassesThreeOfTen() {
        let limit = RateLimitConfig(limit: 3, period: .seconds(60), capacity: 3)
        var sidecar = Sidecar(config: InboundTests.config(allowed: nil, serviceLimit: limit))
        let outcomes = (0..<10).map { n in
            sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 14001, peerIdentity: nil, now: ms(Int64(n) * 125))
        }
        #expect(outcomes.prefix(3).allSatisfy { if case .forward = $0 { true } else { false } })
        #expect(outcomes.suffix(7).allSatisfy { $0 == .respond(HTTPResponseHead(status: 429), .rateLimited) })
        #expect(sidecar.stats.value("http_local_rate_limiter.http_local_rate_limit.rate_limited.throttle_service") == 7)
        // 20 s later one token is back.
        if case .forward = sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 14001, peerIdentity: nil, now: seconds(21)) {} else {
            Issue.record("a token should have been produced after 20 s")
        }
    }

    @Test func burstTenPassesTen() {
        let limit = RateLimitConfig(limit: 3, period: .seconds(60), capacity: 10)
        var sidecar = Sidecar(config: InboundTests.config(allowed: nil, serviceLimit: limit))
        let forwarded = (0..<10).filter { n in
            if case .forward = sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 14001, peerIdentity: nil, now: ms(Int64(n) * 125)) { return true }
            return false
        }.count
        #expect(forwarded == 10)
    }

    @Test func routeLimitUsesItsStatusAndHeaders() {
        let limit = RateLimitConfig(limit: 1, period: .seconds(60), capacity: 1, responseStatusCode: 503, responseHeadersToAdd: [HeaderValue(name: "x-limited", value: "yes")])
        var sidecar = Sidecar(config: InboundTests.config(allowed: nil, routeLimit: limit))
        _ = sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 14001, peerIdentity: nil, now: .zero)
        let limited = sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 14001, peerIdentity: nil, now: .zero)
        #expect(limited == .respond(HTTPResponseHead(status: 503, headers: [HTTPHeader(name: "x-limited", value: "yes")]), .rateLimited))
        #expect(sidecar.stats.value("http_local_rate_limiter.http_local_rate_limit.rate_limited.throttle_route") == 1)
    }

    @Test func oneConnectionPerMinute() {
        let limit = RateLimitConfig(limit: 1, period: .seconds(60), capacity: 1)
        var sidecar = Sidecar(config: InboundTests.config(allowed: nil, tcpLimit: limit))
        let decisions = (0..<8).map { n in
            sidecar.inboundConnection(ConnectionID(UInt64(n)), port: 8078, source: InboundTests.peer, peerIdentity: InboundTests.buyer, now: ms(Int64(n)))
        }
        #expect(decisions.first == .accept)
        #expect(decisions.dropFirst().allSatisfy { $0 == .close(.rateLimited) })
        #expect(sidecar.stats.value("local_rate_limit.inbound_demo/fortio_8078_tcp.rate_limited") == 7)
        #expect(sidecar.inboundConnection(ConnectionID(100), port: 8078, source: InboundTests.peer, peerIdentity: InboundTests.buyer, now: seconds(61)) == .accept)
    }

    @Test func sourceRangesRestrictConnections() {
        var config = InboundTests.config(allowed: nil)
        config.inbound.trafficMatches[1].sourceIPRanges = ["10.244.0.0/16"]
        var sidecar = Sidecar(config: config)
        #expect(sidecar.inboundConnection(ConnectionID(1), port: 8078, source: InboundTests.peer, peerIdentity: InboundTests.buyer, now: .zero) == .accept)
        #expect(sidecar.inboundConnection(ConnectionID(2), port: 8078, source: SocketAddress(ip: "192.168.1.1", port: 5), peerIdentity: InboundTests.buyer, now: .zero) == .close(.accessDenied))
    }
}
