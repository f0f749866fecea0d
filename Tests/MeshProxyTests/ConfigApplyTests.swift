import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

@Suite("Config apply")
struct ConfigApplyTests {
    @Test func rejectedConfigsKeepTheLastGoodOne() {
        let good = Fixture.outbound()
        var sidecar = Sidecar(config: good)
        #expect(sidecar.config == good)

        var badRegex = good
        badRegex.version = "bad-regex"
        badRegex.outbound.trafficMatches[0].httpServiceRouteRules[0].rules[0].pathRegex = "/books(["
        var unknownCluster = good
        unknownCluster.outbound.trafficMatches[0].httpServiceRouteRules[0].rules[0].targetClusters = [WeightedCluster(name: "ghost|1", weight: 1)]
        var badEndpoint = good
        badEndpoint.outbound.clustersConfigs[0].endpoints = [ClusterEndpoint(address: "10.0.0.1")]
        var duplicatePorts = good
        duplicatePorts.inbound.trafficMatches = [InboundTrafficMatch(port: 80, appProtocol: .http), InboundTrafficMatch(port: 80, appProtocol: .tcp)]
        var badHeaderRegex = good
        badHeaderRegex.outbound.trafficMatches[0].httpServiceRouteRules[0].rules[0].headers = [HeaderMatch(name: "x", valueRegex: "(")]
        var badRange = good
        badRange.outbound.trafficMatches[0].destinationIPRanges = ["10.96.0.300/32"]

        for bad in [badRegex, unknownCluster, badEndpoint, duplicatePorts, badHeaderRegex, badRange] {
            guard case let .rejected(reason) = sidecar.apply(bad) else {
                Issue.record("expected a rejection")
                continue
            }
            #expect(!reason.isEmpty)
        }
        #expect(sidecar.config == good)
        #expect(sidecar.stats.value("config_rejected") == 6)
        #expect(sidecar.stats.value("config_applied") == 1)
        // Still routes with the good config.
        var random = SeededGenerator(seed: 1)
        #expect(sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).sends.count == 1)
    }

    @Test func rejectionReasonNamesTheProblem() {
        var config = Fixture.outbound()
        config.outbound.trafficMatches[0].httpServiceRouteRules[0].rules[0].targetClusters = [WeightedCluster(name: "ghost|1", weight: 1)]
        var sidecar = Sidecar()
        guard case let .rejected(reason) = sidecar.apply(config) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(reason.contains("ghost|1"))
        #expect(sidecar.config == nil)
    }

    @Test func appliedResultCarriesTheVersion() {
        var sidecar = Sidecar()
        var config = Fixture.outbound()
        config.version = "abc123"
        #expect(sidecar.apply(config) == .applied(version: "abc123"))
    }

    @Test func clusterStateAndBucketsSurviveAnApply() throws {
        var sidecar = Sidecar(config: Fixture.outbound(endpoints: ["10.244.0.5:14001", "10.244.0.6:14001"]))
        var random = SeededGenerator(seed: 1)
        let first = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let connection = try #require(first.sends.first?.connection)
        _ = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(1), random: &random)
        // In-flight exchange across the apply.
        let second = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: ms(2), random: &random)
        #expect(second.sends.first?.endpoint.description == "10.244.0.6:14001")

        // Endpoint .5 leaves: its idle connection is closed; counters survive.
        var next = Fixture.outbound(endpoints: ["10.244.0.6:14001", "10.244.0.7:14001"])
        next.version = "v2"
        #expect(sidecar.apply(next) == .applied(version: "v2"))
        #expect(sidecar.takeConfigActions() == [.closeUpstream(connection)])
        let done = sidecar.upstreamResponse(ExchangeID(2), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(3), random: &random)
        #expect(done.responses.map(\.head.status) == [200])
        let stats = sidecar.stats
        #expect(stats.value("cluster.\(Fixture.httpbinCluster).upstream_rq_total") == 2)
        #expect(stats.value("cluster.\(Fixture.httpbinCluster).upstream_cx_active") == 1)

        // Buckets: same limit keeps its state, a changed limit starts full.
        let limit = RateLimitConfig(limit: 1, period: .seconds(60), capacity: 1)
        var inbound = Sidecar(config: InboundTests.config(allowed: nil, tcpLimit: limit))
        #expect(inbound.inboundConnection(ConnectionID(1), port: 8078, source: InboundTests.peer, peerIdentity: InboundTests.buyer, now: .zero) == .accept)
        _ = inbound.apply(InboundTests.config(allowed: nil, tcpLimit: limit))
        #expect(inbound.inboundConnection(ConnectionID(2), port: 8078, source: InboundTests.peer, peerIdentity: InboundTests.buyer, now: .zero) == .close(.rateLimited))
        _ = inbound.apply(InboundTests.config(allowed: nil, tcpLimit: RateLimitConfig(limit: 1, period: .seconds(60), capacity: 10)))
        #expect(inbound.inboundConnection(ConnectionID(3), port: 8078, source: InboundTests.peer, peerIdentity: InboundTests.buyer, now: .zero) == .accept)
        #expect(inbound.stats.value("local_rate_limit.inbound_demo/fortio_8078_tcp.rate_limited") == 1)
    }

    @Test func removedClusterAnswersItsQueueAndKeepsItsCounters() throws {
        var settings = ConnectionSettings()
        settings.tcp.maxConnections = 1
        var sidecar = Sidecar(config: Fixture.outbound(settings: settings))
        var random = SeededGenerator(seed: 1)
        let first = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        _ = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let emptied = ProxyConfig(version: "empty", serviceIdentity: "curl.curl.cluster.local")
        #expect(sidecar.apply(emptied) == .applied(version: "empty"))
        // The queued request is answered with the next result; the in-flight one completes.
        let done = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(1), random: &random)
        #expect(Set(done.responses.map(\.exchange)) == [ExchangeID(1), ExchangeID(2)])
        #expect(done.responses.first { $0.exchange == ExchangeID(2) }?.local == .noEndpoints)
        // Its connection is closed rather than kept idle for a cluster that is gone.
        #expect(done.closes == [try #require(first.sends.first?.connection)])
        #expect(sidecar.stats.value("cluster.\(Fixture.httpbinCluster).upstream_rq_total") == 1)
    }

    @Test func statsAreSortedAndRendered() {
        let sidecar = Sidecar(config: Fixture.outbound(retry: RetryPolicy()))
        let names = sidecar.stats.counters().map(\.name)
        #expect(names == names.sorted())
        #expect(names.contains("cluster.httpbin/httpbin|14001.upstream_rq_retry_backoff_ratelimited"))
        #expect(sidecar.stats.text.contains("config_applied: 1\n"))
    }
}
