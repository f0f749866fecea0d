import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// Proxy groups of a permissive mesh get one catalog stamped with each client's identity; the
/// engine compiles that outbound once and every group's sidecars share it. What a sidecar decides
/// must not depend on whether its outbound was shared, and finding the traffic match for a
/// connection must give what trying the matches in config order gives.
@Suite struct SharedOutboundTests {
    /// HTTP services `s0`...`s(n-1)` on port 14001 at 10.96.0.(10+i), one endpoint each.
    static func catalog(services: Int) -> OutboundConfig {
        var matches: [OutboundTrafficMatch] = []
        var clusters: [ClusterConfig] = []
        for i in 0..<services {
            let fqdn = "s\(i).ns.svc.cluster.local"
            let cluster = "ns/s\(i)|14001"
            matches.append(OutboundTrafficMatch(
                port: 14001, appProtocol: .http, destinationIPRanges: ["10.96.0.\(10 + i)/32"],
                httpHostPort2Service: [HostMapping(host: "s\(i).ns", service: fqdn), HostMapping(host: "s\(i).ns:14001", service: fqdn)],
                httpServiceRouteRules: [ServiceRouteRules(service: fqdn, rules: [RouteRule(targetClusters: [WeightedCluster(name: cluster, weight: 100)])])],
                serviceIdentity: ""))
            clusters.append(ClusterConfig(name: cluster, endpoints: [ClusterEndpoint(address: "10.244.1.\(i):14001")]))
        }
        return OutboundConfig(trafficMatches: matches, clustersConfigs: clusters)
    }

    static func client(_ name: String, catalog: OutboundConfig, inboundCluster: String? = nil) -> ProxyConfig {
        var inbound = InboundConfig()
        if let inboundCluster {
            inbound.clustersConfigs = [ClusterConfig(name: inboundCluster, endpoints: [ClusterEndpoint(address: "127.0.0.1:8080")])]
        }
        return ProxyConfig(version: name, serviceIdentity: "\(name).ns.cluster.local", inbound: inbound,
                           outbound: catalog.stamped(serviceIdentity: "\(name).ns.cluster.local", allowedEgressTraffic: false))
    }

    func send(_ sidecar: inout Sidecar, to destination: SocketAddress, host: String) -> String? {
        var random = SeededGenerator(seed: 1)
        let actions = sidecar.outboundRequest(ExchangeID(1), head: HTTPRequestHead(authority: host), destination: destination, now: .zero, random: &random)
        defer { _ = sidecar.cancelOutbound(ExchangeID(1)) }
        return actions.sends.first?.cluster
    }

    @Test func groupsOfOneCatalogShareItsCompiledTables() throws {
        let catalog = Self.catalog(services: 50)
        var cache = CompiledOutboundCache()
        var a = Sidecar(), b = Sidecar()
        #expect(a.apply(PreparedConfig(Self.client("a", catalog: catalog, inboundCluster: "ns/a|80|local"), sharing: &cache)) == .applied(version: "a"))
        #expect(b.apply(PreparedConfig(Self.client("b", catalog: catalog), sharing: &cache)) == .applied(version: "b"))
        let sharedA = a.compiled.clusters.shared.withUnsafeBufferPointer { $0.baseAddress }
        let sharedB = b.compiled.clusters.shared.withUnsafeBufferPointer { $0.baseAddress }
        #expect(sharedA == sharedB)
        #expect(a.compiled.clusters.count == 51 && b.compiled.clusters.count == 50)
        // The same decisions and counters as a sidecar that compiled the config on its own.
        var alone = Sidecar(config: Self.client("b", catalog: catalog))
        func exercise(_ sidecar: inout Sidecar) {
            #expect(send(&sidecar, to: SocketAddress(ip: "10.96.0.37", port: 14001), host: "s27.ns:14001") == "ns/s27|14001")
            // The destination finds the match, whatever service the Host names elsewhere.
            #expect(send(&sidecar, to: SocketAddress(ip: "10.96.0.10", port: 14001), host: "s0.ns") == "ns/s0|14001")
        }
        exercise(&a)
        exercise(&b)
        exercise(&alone)
        #expect(alone.stats.text == b.stats.text)
    }

    @Test func anOutboundTargetOnlyTheInboundHasIsFoundThere() {
        // Compiled alone, the outbound cannot resolve `ns/s0|14001|local`; the whole config can.
        var catalog = Self.catalog(services: 1)
        catalog.trafficMatches[0].httpServiceRouteRules[0].rules[0].targetClusters = [WeightedCluster(name: "ns/s0|14001|local", weight: 100)]
        var cache = CompiledOutboundCache()
        var sidecar = Sidecar()
        #expect(sidecar.apply(PreparedConfig(Self.client("a", catalog: catalog, inboundCluster: "ns/s0|14001|local"), sharing: &cache)) == .applied(version: "a"))
        #expect(send(&sidecar, to: SocketAddress(ip: "10.96.0.10", port: 14001), host: "s0.ns") == "ns/s0|14001|local")
        var other = Sidecar()
        guard case .rejected(let reason) = other.apply(PreparedConfig(Self.client("b", catalog: catalog), sharing: &cache)) else {
            Issue.record("a config whose target cluster exists nowhere was applied")
            return
        }
        #expect(reason == "outbound port 14001 service s0.ns.svc.cluster.local route .*: target cluster ns/s0|14001|local is not in ClustersConfigs")
    }

    @Test func clustersAreCheckedBeforeMatches() {
        // A bad outbound regex and a bad inbound cluster: the cluster is reported, as before sharing.
        var catalog = Self.catalog(services: 1)
        catalog.trafficMatches[0].httpServiceRouteRules[0].rules[0].pathRegex = "(["
        var config = Self.client("a", catalog: catalog)
        config.inbound.clustersConfigs = [ClusterConfig(name: "ns/a|80|local", endpoints: [ClusterEndpoint(address: "nowhere")])]
        var cache = CompiledOutboundCache()
        var sidecar = Sidecar()
        #expect(sidecar.apply(PreparedConfig(config, sharing: &cache)) == .rejected(reason: "cluster ns/a|80|local: bad endpoint address \"nowhere\""))
        // An inbound cluster named like an outbound one must be the same cluster.
        var clash = Self.client("b", catalog: Self.catalog(services: 1))
        clash.inbound.clustersConfigs = [ClusterConfig(name: "ns/s0|14001", endpoints: [])]
        #expect(Sidecar().applying(clash, cache: &cache) == .rejected(reason: "cluster ns/s0|14001 is defined twice with different settings"))
    }

    /// Matches in config order: wide ranges and single addresses interleaved, hosts in both forms;
    /// every match also routes Host `any` to its own cluster (named like the match).
    static var mixedOutbound: OutboundConfig {
        func match(_ name: String, _ ranges: [String], hosts: [String]) -> OutboundTrafficMatch {
            let fqdn = "\(name).ns.svc.cluster.local"
            return OutboundTrafficMatch(
                port: 80, appProtocol: .http, destinationIPRanges: ranges, httpHostPort2Service: (hosts + ["any"]).map { HostMapping(host: $0, service: fqdn) },
                httpServiceRouteRules: [ServiceRouteRules(service: fqdn, rules: [RouteRule(targetClusters: [WeightedCluster(name: name, weight: 100)])])],
                serviceIdentity: "")
        }
        let matches = [
            match("m0", ["10.96.0.7/32"], hosts: ["c:80", "only-m0"]),
            match("m1", ["10.96.0.0/16"], hosts: ["b"]),
            match("m2", ["10.96.0.5/32", "10.96.0.6/32"], hosts: ["c", "B2"]),
            match("m3", ["10.97.0.5/32"], hosts: []),
            match("m4", ["10.97.0.0/16", "fd00::1"], hosts: []),
        ]
        let clusters = ["m0", "m1", "m2", "m3", "m4"].map { ClusterConfig(name: $0, endpoints: [ClusterEndpoint(address: "10.244.0.1:80")]) }
        return OutboundConfig(trafficMatches: matches, clustersConfigs: clusters)
    }

    @Test(arguments: [
        ("10.96.0.7", "any", "m0"),       // single address, before any wide range
        ("10.96.0.5", "any", "m1"),       // m1's /16 comes before m2's /32
        ("10.97.0.5", "any", "m3"),       // m3's /32 comes before m4's /16
        ("10.97.1.1", "any", "m4"),
        ("fd00::1", "any", "m4"),         // a literal range
        ("192.0.2.1", "b:80", "m1"),    // no range holds it: by Host, with the port dropped
        ("192.0.2.1", "c", "m0"),       // m0 has "c:80", m2 has "c": the earlier match wins
        ("192.0.2.1", "C:80", "m0"),
        ("192.0.2.1", "b2", "m2"),      // host tables are lower-case
        ("192.0.2.1", "only-m0:80", "m0"),
    ])
    func theMatchIsTheFirstInConfigOrder(ip: String, host: String, cluster: String) {
        var sidecar = Sidecar(config: ProxyConfig(version: "v", serviceIdentity: "c.ns.cluster.local", outbound: Self.mixedOutbound))
        #expect(send(&sidecar, to: SocketAddress(ip: ip, port: 80), host: host) == cluster)
    }

    @Test func otherPortsAndUnknownHostsFindNoMatch() {
        var sidecar = Sidecar(config: ProxyConfig(version: "v", serviceIdentity: "c.ns.cluster.local", outbound: Self.mixedOutbound))
        var random = SeededGenerator(seed: 1)
        let otherPort = sidecar.outboundRequest(ExchangeID(1), head: HTTPRequestHead(authority: "b"), destination: SocketAddress(ip: "10.96.0.7", port: 81), now: .zero, random: &random)
        #expect(otherPort.responses.first?.local == .noRoute)
        let unknown = sidecar.outboundRequest(ExchangeID(2), head: HTTPRequestHead(authority: "nobody"), destination: SocketAddress(ip: "192.0.2.1", port: 80), now: .zero, random: &random)
        #expect(unknown.responses.first?.local == .noRoute)
    }
}

extension Sidecar {
    /// Applies `config` prepared with `cache` to a copy of this sidecar.
    func applying(_ config: ProxyConfig, cache: inout CompiledOutboundCache) -> ConfigApplyResult {
        var copy = self
        return copy.apply(PreparedConfig(config, sharing: &cache))
    }
}
