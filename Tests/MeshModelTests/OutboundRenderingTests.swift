import MeshModel
import Testing

/// A config's compact JSON is written from its outbound's shared stores (cached per store); it
/// must be byte for byte what rendering its `jsonValue` gives, and its size what
/// `renderedByteCount` says, whatever the outbound holds.
@Suite struct OutboundRenderingTests {
    static func match(_ port: Int, _ name: String, identity: String = "", egress: Bool = false, tcp: Bool = false) -> OutboundTrafficMatch {
        let fqdn = "\(name).ns.svc.cluster.local"
        let cluster = WeightedCluster(name: "ns/\(name)|\(port)", weight: 100)
        return OutboundTrafficMatch(
            port: port, appProtocol: tcp ? .tcp : .http, destinationIPRanges: ["10.96.0.\(port % 200)/32"],
            httpHostPort2Service: tcp ? [] : [HostMapping(host: name, service: fqdn), HostMapping(host: "\(name):\(port)", service: fqdn)],
            httpServiceRouteRules: tcp ? [] : [ServiceRouteRules(service: fqdn, rules: [RouteRule(pathRegex: "/a\"b\\c", targetClusters: [cluster])])],
            targetClusters: tcp ? [cluster] : nil, allowedEgressTraffic: egress, serviceIdentity: identity)
    }

    static func cluster(_ name: String, endpoints: Int = 3, retry: Bool = false) -> ClusterConfig {
        ClusterConfig(name: name, endpoints: (0..<endpoints).map { ClusterEndpoint(address: "10.244.0.\($0):80", weight: 100 - $0) },
                      retryPolicy: retry ? RetryPolicy(retryOn: "5xx", perTryTimeout: .seconds(1), numRetries: 2, retryBackoffBaseInterval: .milliseconds(25)) : nil)
    }

    /// Matches on several ports out of order (port keys sort as strings: "14001" < "80" < "9000"),
    /// clusters out of order and one named twice, identities that need escaping.
    static var outbound: OutboundConfig {
        OutboundConfig(
            trafficMatches: [match(9000, "b"), match(80, "a", identity: "own.x", egress: true), match(14001, "c", tcp: true), match(80, "d")],
            clustersConfigs: [cluster("ns/z|80"), cluster("ns/a|80", retry: true), cluster("ns/z|80", endpoints: 1), cluster("ns/m|9000", endpoints: 0)])
    }

    static func config(_ outbound: OutboundConfig, identity: String = "curl.curl.cluster.local") -> ProxyConfig {
        ProxyConfig(version: "v\u{1}1", serviceIdentity: identity, spec: ProxySpec(enableEgress: true), outbound: outbound)
    }

    static var cases: [ProxyConfig] {
        [
            config(OutboundConfig()),
            config(outbound),
            config(outbound.stamped(serviceIdentity: "buyer.shop.cluster.local", allowedEgressTraffic: true)),
            config(outbound.stamped(serviceIdentity: "q\"uote\\d\n", allowedEgressTraffic: false)),
            config(OutboundConfig(clustersConfigs: [cluster("only")])),
            config(OutboundConfig(trafficMatches: [match(80, "solo")])),
        ]
    }

    @Test(arguments: cases)
    func compactRenderingIsTheValuesRendering(config: ProxyConfig) {
        let expected = config.jsonValue.rendered()
        #expect(config.renderedJSON() == expected)
        #expect(config.renderedByteCount == expected.utf8.count)
        // Cached pieces are reused on the second rendering: still the same bytes.
        #expect(config.renderedJSON() == expected)
    }

    @Test func stampedOutboundReadsAsIfEveryMatchCarriedTheStamp() {
        let stamped = Self.outbound.stamped(serviceIdentity: "buyer.shop.cluster.local", allowedEgressTraffic: true)
        let written = OutboundConfig(trafficMatches: Self.outbound.trafficMatches.map {
            var match = $0
            match.serviceIdentity = "buyer.shop.cluster.local"
            match.allowedEgressTraffic = true
            return match
        }, clustersConfigs: Self.outbound.clustersConfigs)
        #expect(stamped == written)
        #expect(stamped.hashValue == written.hashValue)
        #expect(stamped.trafficMatches == written.trafficMatches)
        #expect(stamped.trafficMatch(at: 1) == written.trafficMatches[1])
        #expect(stamped != Self.outbound)
        #expect(Self.config(stamped).renderedJSON() == Self.config(written).renderedJSON())
    }

    @Test func stampedCopiesShareTheirStoresUntilChanged() {
        let catalog = Self.outbound
        let a = catalog.stamped(serviceIdentity: "a.ns.cluster.local", allowedEgressTraffic: false)
        var b = catalog.stamped(serviceIdentity: "b.ns.cluster.local", allowedEgressTraffic: false)
        #expect(a.storageKey == b.storageKey)
        #expect(a.storageKey == catalog.storageKey)
        b.clustersConfigs[0].endpoints = []
        #expect(b.storageKey != a.storageKey)
        #expect(b.trafficMatch(at: 0).serviceIdentity == "b.ns.cluster.local")
        var c = a
        c.trafficMatches[0].port = 9001
        #expect(c.storageKey != a.storageKey)
        // Written through the array, the stamp is now part of each stored match.
        #expect(c.trafficMatches.allSatisfy { $0.serviceIdentity == "a.ns.cluster.local" })
        #expect(c.trafficMatch(at: 0).port == 9001 && a.trafficMatch(at: 0).port == 9000)
    }
}
