import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// Per-cluster state is created on a cluster's first use, so that a proxy whose config names
/// a thousand clusters pays only for those it talks to.
@Suite("Lazy cluster state")
struct LazyClusterStateTests {
    static func otherClusters(_ count: Int) -> [ClusterConfig] {
        (0..<count).map { ClusterConfig(name: "other/svc\($0)|80", endpoints: [ClusterEndpoint(address: "10.244.1.\($0 + 1):80")]) }
    }

    static let unusedCluster = "other/svc1|80"

    @Test func unusedClustersAllocateNoState() throws {
        var sidecar = Sidecar(config: Fixture.outbound(extraClusters: Self.otherClusters(3)))
        #expect(sidecar.compiled.clusters.count == 4)
        #expect(sidecar.clusters.count == 0)
        #expect(sidecar.balancers.count == 0)

        var random = SeededGenerator(seed: 1)
        let sent = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        #expect(sent.sends.count == 1)
        let httpbin = try #require(sidecar.compiled.clusterIndex(named: Fixture.httpbinCluster))
        #expect(sidecar.clusters.indexOfSlot == [httpbin])
        // A single-target route needs no balancer state.
        #expect(sidecar.balancers.count == 0)

        // Unused clusters still read as zeros, by name and in the full listing.
        let stats = sidecar.stats
        #expect(stats.value("cluster.\(Self.unusedCluster).upstream_rq_total") == 0)
        #expect(stats.counters().contains { $0.name == "cluster.\(Self.unusedCluster).upstream_cx_total" && $0.value == 0 })
        #expect(stats.value("cluster.\(Fixture.httpbinCluster).upstream_rq_total") == 1)
    }

    @Test func stateCreatedOnFirstUseSurvivesAnApplyThatMovesItsIndex() throws {
        var sidecar = Sidecar(config: Fixture.outbound())
        var random = SeededGenerator(seed: 1)
        let first = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let connection = try #require(first.sends.first?.connection)
        _ = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(1), random: &random)

        // The new config lists other clusters first, so httpbin's index changes.
        var next = Fixture.outbound()
        next.outbound.clustersConfigs = Self.otherClusters(5) + next.outbound.clustersConfigs
        next.version = "v2"
        #expect(sidecar.apply(next) == .applied(version: "v2"))
        #expect(sidecar.takeConfigActions().isEmpty)
        #expect(sidecar.compiled.clusterIndex(named: Fixture.httpbinCluster) == 5)
        #expect(sidecar.clusters.indexOfSlot == [5])

        // The idle connection is reused and the counters continue.
        let second = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: ms(2), random: &random)
        #expect(second.sends.first?.connection == connection)
        #expect(second.sends.first?.isNew == false)
        let stats = sidecar.stats
        #expect(stats.value("cluster.\(Fixture.httpbinCluster).upstream_rq_total") == 2)
        #expect(stats.value("cluster.\(Fixture.httpbinCluster).upstream_cx_total") == 1)
        #expect(stats.value("cluster.\(Fixture.httpbinCluster).upstream_rq_2xx") == 1)
    }

    @Test func removedClusterWithStateKeepsItsCountersAndGetsThemBack() throws {
        var sidecar = Sidecar(config: Fixture.outbound(extraClusters: Self.otherClusters(2)))
        var random = SeededGenerator(seed: 1)
        let first = sidecar.outboundRequest(ExchangeID(1), head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random)
        let connection = try #require(first.sends.first?.connection)
        _ = sidecar.upstreamResponse(ExchangeID(1), attempt: 1, head: HTTPResponseHead(status: 200), now: ms(1), random: &random)

        var emptied = ProxyConfig(version: "empty", serviceIdentity: "curl.curl.cluster.local")
        #expect(sidecar.apply(emptied) == .applied(version: "empty"))
        // Its idle connection is closed; its counters stay, with the gauges at zero.
        #expect(sidecar.takeConfigActions() == [.closeUpstream(connection)])
        #expect(sidecar.clusters.count == 0)
        let retired = sidecar.stats
        #expect(retired.value("cluster.\(Fixture.httpbinCluster).upstream_rq_total") == 1)
        #expect(retired.value("cluster.\(Fixture.httpbinCluster).upstream_cx_total") == 1)
        #expect(retired.value("cluster.\(Fixture.httpbinCluster).upstream_cx_active") == 0)
        #expect(retired.counters().contains { $0.name == "cluster.\(Fixture.httpbinCluster).upstream_rq_2xx" && $0.value == 1 })
        // A cluster that left without ever being used leaves nothing behind.
        #expect(!retired.counters().contains { $0.name.hasPrefix("cluster.\(Self.unusedCluster).") })

        // Back again: the counters carry on from where they were.
        emptied = Fixture.outbound()
        emptied.version = "v3"
        #expect(sidecar.apply(emptied) == .applied(version: "v3"))
        let again = sidecar.outboundRequest(ExchangeID(2), head: Fixture.get(), destination: Fixture.httpbinIP, now: ms(2), random: &random)
        #expect(again.sends.first?.isNew == true)
        let stats = sidecar.stats
        #expect(stats.value("cluster.\(Fixture.httpbinCluster).upstream_rq_total") == 2)
        #expect(stats.value("cluster.\(Fixture.httpbinCluster).upstream_cx_active") == 1)
        #expect(stats.counters().filter { $0.name == "cluster.\(Fixture.httpbinCluster).upstream_rq_total" }.count == 1)
    }

    @Test func weightedSplitBalancerIsCreatedOnFirstPickAndRestartsOnApply() throws {
        let canary = ClusterConfig(name: "httpbin/httpbin-v2|14001", endpoints: [ClusterEndpoint(address: "10.244.0.9:14001")])
        let split = [RouteRule(targetClusters: [
            WeightedCluster(name: Fixture.httpbinCluster, weight: 3),
            WeightedCluster(name: canary.name, weight: 1),
        ])]
        let config = Fixture.outbound(rules: split, extraClusters: [canary])
        var sidecar = Sidecar(config: config)
        #expect(sidecar.balancers.count == 0)
        var random = SeededGenerator(seed: 1)
        func picks(_ count: Int, from start: UInt64) -> [String] {
            (0..<UInt64(count)).map { offset in
                let id = ExchangeID(start + offset)
                let cluster = sidecar.outboundRequest(id, head: Fixture.get(), destination: Fixture.httpbinIP, now: .zero, random: &random).sends.first?.cluster ?? "-"
                _ = sidecar.cancelOutbound(id)
                return cluster
            }
        }
        let v1 = Fixture.httpbinCluster, v2 = canary.name
        // Smooth weighted round robin over 3:1.
        #expect(picks(5, from: 1) == [v1, v1, v2, v1, v1])
        #expect(sidecar.balancers.count == 1)
        var next = config
        next.version = "v2"
        _ = sidecar.apply(next)
        #expect(sidecar.balancers.count == 0)
        #expect(picks(4, from: 10) == [v1, v1, v2, v1])
    }

    @Test func sparseTableKeepsValuesByIndex() {
        var table = SparseTable<Int>()
        #expect(!table.contains(0))
        #expect(table[ifPresent: 7] == nil)
        table.insert(70, at: 7)
        table.insert(20, at: 2)
        table.insert(99, at: 7)
        #expect(table.count == 2)
        #expect(table[7] == 70)
        table[2] += 1
        #expect(table[ifPresent: 2] == 21)
        #expect(table[ifPresent: 3] == nil)
        #expect(table[ifPresent: -1] == nil)
        #expect(table[ifPresent: 1000] == nil)
        #expect(table.indexOfSlot == [7, 2])
        #expect(table.slot(of: 2) == 1)
    }
}
