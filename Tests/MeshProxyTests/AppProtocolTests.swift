import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// The engine names the protocol of every hop it hands the shell (from the traffic match it
/// routed by), and answers for an app that cannot be reached: the shells re-derive neither.
@Suite("AppProtocol")
struct AppProtocolTests {
    /// httpbin on 14001 (HTTP) and a gRPC service on 9000 that resolves to the same cluster IP:
    /// only the traffic match (by port) tells them apart.
    static func outbound() -> ProxyConfig {
        var config = Fixture.outbound()
        let grpcService = "greeter.httpbin.svc.cluster.local"
        let grpc = OutboundTrafficMatch(
            port: 9000, appProtocol: .grpc, destinationIPRanges: ["10.96.0.10/32"],
            httpHostPort2Service: Fixture.hostMappings(service: grpcService, short: "greeter", port: 9000),
            httpServiceRouteRules: [ServiceRouteRules(service: grpcService, rules: [RouteRule(targetClusters: [WeightedCluster(name: "httpbin/greeter|9000", weight: 100)])])],
            serviceIdentity: "httpbin.httpbin.cluster.local")
        config.outbound.trafficMatches.append(grpc)
        config.outbound.clustersConfigs.append(ClusterConfig(name: "httpbin/greeter|9000", endpoints: [ClusterEndpoint(address: "10.244.0.5:9000")]))
        return config
    }

    @Test func theSendActionCarriesThePortsProtocolOnEveryAttempt() throws {
        let policy = RetryPolicy(retryOn: "5xx", numRetries: 1, retryBackoffBaseInterval: .milliseconds(5))
        var config = Self.outbound()
        config.outbound.clustersConfigs[1].retryPolicy = policy
        var sidecar = Sidecar(config: config)
        var random = SeededGenerator(seed: 1)
        let http = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(http.sentProtocols == [.http])
        let grpcHead = Fixture.get("/helloworld.Greeter/SayHello", host: "greeter.httpbin:9000", method: "POST")
        let grpc = sidecar.outboundRequest(ExchangeID(2), head: grpcHead, destination: SocketAddress(ip: "10.96.0.10", port: 9000), now: .zero, random: &random)
        #expect(grpc.sentProtocols == [.grpc])
        // The retry keeps it.
        let failed = sidecar.upstreamResponse(ExchangeID(2), attempt: 1, head: HTTPResponseHead(status: 503), now: ms(1), random: &random)
        #expect(failed.timers.map(\.timer) == [.retryBackoff(ExchangeID(2))])
        #expect(sidecar.timerFired(.retryBackoff(ExchangeID(2)), now: ms(10), random: &random).sentProtocols == [.grpc])
    }

    @Test func inboundForwardsCarryThePortsProtocol() {
        let local = "httpbin/greeter|9000|local"
        let service = "greeter.httpbin.svc.cluster.local"
        let match = InboundTrafficMatch(
            port: 9000, appProtocol: .grpc,
            httpHostPort2Service: Fixture.hostMappings(service: service, short: "greeter", port: 9000),
            httpServiceRouteRules: [ServiceRouteRules(service: service, rules: [RouteRule(targetClusters: [WeightedCluster(name: local, weight: 100)])])])
        let config = ProxyConfig(serviceIdentity: "httpbin.httpbin.cluster.local",
                                 inbound: InboundConfig(trafficMatches: [match], clustersConfigs: [ClusterConfig(name: local, endpoints: [ClusterEndpoint(address: "127.0.0.1:9000")])]))
        var sidecar = Sidecar(config: config)
        let head = HTTPRequestHead(method: "POST", path: "/helloworld.Greeter/SayHello", authority: "greeter.httpbin:9000")
        #expect(sidecar.inboundRequest(head, connection: ConnectionID(1), port: 9000, peerIdentity: nil, now: .zero)
            == .forward(cluster: local, endpoint: SocketAddress(ip: "127.0.0.1", port: 9000), appProtocol: .grpc))
    }

    @Test func anUnreachableAppIsAnswered503ByTheEngine() {
        var sidecar = Sidecar(config: InboundTests.config())
        #expect(sidecar.inboundAppUnreachable(port: 14001) == HTTPResponseHead(status: 503))
        #expect(sidecar.stats.value("inbound.app_unreachable") == 1)
        #expect(sidecar.stats.value("inbound.rq_5xx") == 1)
    }
}
