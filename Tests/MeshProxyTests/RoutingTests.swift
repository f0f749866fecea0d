import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

@Suite("Outbound routing")
struct RoutingTests {
    static let v1 = "bookstore/bookstore-v1|14001"
    static let v2 = "bookstore/bookstore-v2|14001"

    func routedConfig() -> ProxyConfig {
        let rules = [
            RouteRule(pathRegex: "/books-bought", methods: ["GET"], targetClusters: [WeightedCluster(name: Fixture.httpbinCluster, weight: 100)]),
            RouteRule(pathRegex: "/buy-a-book/new", headers: [HeaderMatch(name: "user-agent", valueRegex: ".*-http-client/.*")], methods: ["GET"], targetClusters: [WeightedCluster(name: "other|1", weight: 100)]),
            RouteRule(pathRegex: "/api/v[0-9]+/items", targetClusters: [WeightedCluster(name: "other|1", weight: 100)]),
        ]
        return Fixture.outbound(rules: rules, extraClusters: [ClusterConfig(name: "other|1", endpoints: [ClusterEndpoint(address: "10.244.9.9:80")])])
    }

    func route(_ sidecar: inout Sidecar, _ head: HTTPRequestHead, destination: SocketAddress = Fixture.httpbinIP, id: UInt64 = 1) -> (cluster: String?, status: Int?, local: LocalReason?) {
        var random = SeededGenerator(seed: 1)
        let actions = sidecar.outboundRequest(ExchangeID(id), head: head, destination: destination, now: .zero, random: &random)
        if let send = actions.sends.first {
            _ = sidecar.cancelOutbound(ExchangeID(id))
            return (send.cluster, nil, nil)
        }
        let response = actions.responses.first
        return (nil, response?.head.status, response?.local)
    }

    @Test func pathMethodAndHeaderMatching() {
        var sidecar = Sidecar(config: routedConfig())
        #expect(route(&sidecar, Fixture.get("/books-bought")).cluster == Fixture.httpbinCluster)
        // The query is not part of the path that is matched.
        #expect(route(&sidecar, Fixture.get("/books-bought?x=1")).cluster == Fixture.httpbinCluster)
        // Whole-path match: a longer path is not the same route.
        #expect(route(&sidecar, Fixture.get("/books-bought/extra")).status == 404)
        #expect(route(&sidecar, Fixture.get("/books-bought", method: "POST")).status == 404)
        #expect(route(&sidecar, Fixture.get("/buy-a-book/new", headers: [HTTPHeader(name: "User-Agent", value: "Go-http-client/1.1")])).cluster == "other|1")
        #expect(route(&sidecar, Fixture.get("/buy-a-book/new", headers: [HTTPHeader(name: "user-agent", value: "curl/8")])).status == 404)
        #expect(route(&sidecar, Fixture.get("/buy-a-book/new")).status == 404)
        #expect(route(&sidecar, Fixture.get("/api/v12/items", method: "DELETE")).cluster == "other|1")
        #expect(route(&sidecar, Fixture.get("/api/vX/items")).status == 404)
        let notFound = route(&sidecar, Fixture.get("/nothing"))
        #expect(notFound.status == 404 && notFound.local == .noRoute)
    }

    @Test func hostFormsAndUnknownHosts() {
        var sidecar = Sidecar(config: Fixture.outbound())
        #expect(route(&sidecar, Fixture.get(host: "httpbin.httpbin.svc.cluster.local:14001")).cluster == Fixture.httpbinCluster)
        #expect(route(&sidecar, Fixture.get(host: "HTTPBIN.httpbin")).cluster == Fixture.httpbinCluster)
        let unknown = route(&sidecar, Fixture.get(host: "nope.nowhere:14001"))
        #expect(unknown.status == 404 && unknown.local == .noRoute)
    }

    @Test func noTrafficMatchGivesStatusZero() {
        var sidecar = Sidecar(config: Fixture.outbound())
        let wrongPort = route(&sidecar, Fixture.get(), destination: SocketAddress(ip: "10.96.0.10", port: 80))
        #expect(wrongPort.status == 0 && wrongPort.local == .noRoute)
        // Same port, another IP, but the Host names the service: HTTP falls back to the host.
        #expect(route(&sidecar, Fixture.get(), destination: SocketAddress(ip: "10.96.7.7", port: 14001)).cluster == Fixture.httpbinCluster)
        let neither = route(&sidecar, Fixture.get(host: "x.y"), destination: SocketAddress(ip: "10.96.7.7", port: 14001))
        #expect(neither.status == 0 && neither.local == .noRoute)
        // No config at all: refused.
        var empty = Sidecar()
        let refused = route(&empty, Fixture.get())
        #expect(refused.status == 0 && refused.local == .noRoute)
        #expect(sidecar.stats.value("outbound.no_route") == 2)
    }

    @Test func weightedSplitSharesAreExact() {
        let split = [RouteRule(targetClusters: [WeightedCluster(name: RoutingTests.v1, weight: 75), WeightedCluster(name: RoutingTests.v2, weight: 25)])]
        let clusters = [
            ClusterConfig(name: RoutingTests.v1, endpoints: [ClusterEndpoint(address: "10.244.0.1:14001")]),
            ClusterConfig(name: RoutingTests.v2, endpoints: [ClusterEndpoint(address: "10.244.0.2:14001")]),
        ]
        var config = Fixture.outbound(rules: split)
        config.outbound.clustersConfigs += clusters
        var sidecar = Sidecar(config: config)
        var counts: [String: Int] = [:]
        var order: [String] = []
        for n in 1...100 {
            let cluster = route(&sidecar, Fixture.get(), id: UInt64(n)).cluster ?? "none"
            counts[cluster, default: 0] += 1
            if n <= 4 { order.append(cluster) }
        }
        #expect(counts == [RoutingTests.v1: 75, RoutingTests.v2: 25])
        // Smooth: interleaved, not 75 then 25.
        #expect(order.filter { $0 == RoutingTests.v2 }.count == 1)
    }

    @Test func zeroWeightTargetGetsNothing() {
        let split = [RouteRule(targetClusters: [WeightedCluster(name: RoutingTests.v1, weight: 0), WeightedCluster(name: RoutingTests.v2, weight: 100)])]
        var config = Fixture.outbound(rules: split)
        config.outbound.clustersConfigs += [
            ClusterConfig(name: RoutingTests.v1, endpoints: [ClusterEndpoint(address: "10.244.0.1:14001")]),
            ClusterConfig(name: RoutingTests.v2, endpoints: [ClusterEndpoint(address: "10.244.0.2:14001")]),
        ]
        var sidecar = Sidecar(config: config)
        let clusters = Set((1...20).map { route(&sidecar, Fixture.get(), id: UInt64($0)).cluster })
        #expect(clusters == [RoutingTests.v2])
    }

    @Test func endpointsRoundRobinAndSkipZeroWeight() throws {
        var config = Fixture.outbound(endpoints: ["10.244.0.1:14001", "10.244.0.2:14001", "10.244.0.3:14001"])
        config.outbound.clustersConfigs[0].endpoints.append(ClusterEndpoint(address: "10.244.0.4:14001", weight: 0))
        var sidecar = Sidecar(config: config)
        var random = SeededGenerator(seed: 1)
        var picked: [String] = []
        for n in 1...6 {
            let actions = sidecar.outboundRequest(ExchangeID(UInt64(n)), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
            picked.append(try #require(actions.sends.first).endpoint.description)
        }
        #expect(picked == ["10.244.0.1:14001", "10.244.0.2:14001", "10.244.0.3:14001", "10.244.0.1:14001", "10.244.0.2:14001", "10.244.0.3:14001"])
    }

    @Test func clusterWithoutEndpointsGives503() {
        var sidecar = Sidecar(config: Fixture.outbound(endpoints: []))
        let answer = route(&sidecar, Fixture.get())
        #expect(answer.status == 503 && answer.local == .noEndpoints)
    }

    @Test func duplicateExchangeIDIsIgnored() {
        var sidecar = Sidecar(config: Fixture.outbound())
        var random = SeededGenerator(seed: 1)
        #expect(sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).sends.count == 1)
        #expect(sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).isEmpty)
    }

    @Test func garbageInputDoesNotCrash() {
        var sidecar = Sidecar(config: Fixture.outbound())
        var random = SeededGenerator(seed: 1)
        let weird = HTTPRequestHead(method: "", path: "", authority: ":::", headers: [HTTPHeader(name: "", value: "\u{0}")])
        let actions = sidecar.outboundRequest(ExchangeID(1), head: weird, destination: SocketAddress(ip: "not an ip", port: -1), now: .zero, random: &random)
        #expect(actions.responses.first?.local == .noRoute)
        #expect(SocketAddress(parsing: "10.0.0.1:99999") == nil)
        #expect(SocketAddress(parsing: "nope") == nil)
        #expect(SocketAddress(parsing: "10.0.0.1:80") == SocketAddress(ip: "10.0.0.1", port: 80))
    }
}
