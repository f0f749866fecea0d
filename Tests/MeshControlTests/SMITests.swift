import MeshControl
import MeshModel
import MeshTesting
import Testing

/// demos.md 1.5 (SMI access control) and 1.6 (traffic split).
@Suite struct SMITests {
    static func bookstore(_ extra: [ResourceChange] = []) -> MeshController {
        var controller = MeshController()
        _ = controller.apply(ClusterFixtures.bookstoreApps + ClusterFixtures.bookstorePolicies + extra)
        return controller
    }

    @Test func bookbuyerReachesBookstoreThroughTheTwoRoutes() throws {
        let controller = Self.bookstore()
        let buyer = try #require(controller.config(for: PodKey("bookbuyer", "bookbuyer-1")))
        // Both services selecting bookstore's pods are reachable, and nothing else.
        #expect(buyer.outbound.trafficMatches.flatMap(\.targetClusterNames) == ["bookstore/bookstore|14001", "bookstore/bookstore-v1|14001"])
        #expect(buyer.outbound.trafficMatches.allSatisfy { $0.serviceIdentity == "bookbuyer.bookbuyer.cluster.local" })
        #expect(buyer.cluster("bookstore/bookstore|14001")?.endpoints.map(\.address) == ["10.244.0.4:14001"])

        let store = try #require(controller.config(for: PodKey("bookstore", "bookstore-1")))
        let inbound = try #require(store.inbound.trafficMatches.first)
        #expect(store.inbound.trafficMatches.count == 1)
        #expect(inbound.port == 14001)
        let rules = try #require(inbound.httpServiceRouteRules.first { $0.service == "bookstore.bookstore.svc.cluster.local" })
        #expect(inbound.httpServiceRouteRules.map(\.service) == ["bookstore-v1.bookstore.svc.cluster.local", "bookstore.bookstore.svc.cluster.local"])
        #expect(rules.rules.map(\.pathRegex) == ["/books-bought", ".*a-book.*new"])
        #expect(rules.rules.allSatisfy { $0.allowedServices == ["bookbuyer.bookbuyer.cluster.local"] && $0.methods == ["GET"] })
        #expect(rules.rules[0].headers == [HeaderMatch(name: "client-app", valueRegex: "bookbuyer"), HeaderMatch(name: "user-agent", valueRegex: ".*-http-client/*.*")])
        #expect(rules.rules[1].headers == nil)
        #expect(rules.rules[0].targetClusters == [WeightedCluster(name: "bookstore/bookstore|14001|local", weight: 100)])
        #expect(inbound.httpHostPort2Service.count == 20)
    }

    @Test func bookthiefHasNoRouteToBookstore() throws {
        let controller = Self.bookstore()
        let thief = try #require(controller.config(for: PodKey("bookthief", "bookthief-1")))
        #expect(thief.outbound.trafficMatches.isEmpty)
        #expect(thief.outbound.clustersConfigs.isEmpty)
    }

    @Test func allowingBookthiefAddsItAsASource() throws {
        var controller = Self.bookstore()
        let update = controller.apply([ClusterFixtures.trafficTarget(
            "bookstore", "bookstore", destination: ClusterFixtures.sa("bookstore", "bookstore"),
            sources: [ClusterFixtures.sa("bookbuyer", "bookbuyer"), ClusterFixtures.sa("bookthief", "bookthief")],
            rules: [TrafficTargetRule(kind: "HTTPRouteGroup", name: "bookstore-service-routes", matches: ["buy-a-book", "books-bought"])]
        )])
        #expect(update.changed == [PodKey("bookstore", "bookstore-1"), PodKey("bookthief", "bookthief-1")])
        let thief = try #require(controller.config(for: PodKey("bookthief", "bookthief-1")))
        #expect(!thief.outboundMatches(to: "bookstore/bookstore").isEmpty)
        let store = try #require(controller.config(for: PodKey("bookstore", "bookstore-1")))
        #expect(store.inbound.trafficMatches[0].httpServiceRouteRules[0].rules[0].allowedServices == ["bookbuyer.bookbuyer.cluster.local", "bookthief.bookthief.cluster.local"])
    }

    @Test func bookstoreReachesBookwarehouseAndWarehouseReachesMysql() throws {
        let controller = Self.bookstore()
        let store = try #require(controller.config(for: PodKey("bookstore", "bookstore-1")))
        #expect(store.outbound.trafficMatches.flatMap(\.targetClusterNames) == ["bookwarehouse/bookwarehouse|14001"])
        let warehouse = try #require(controller.config(for: PodKey("bookwarehouse", "bookwarehouse-1")))
        let restock = try #require(warehouse.inbound.trafficMatches.first?.httpServiceRouteRules.first?.rules)
        #expect(restock.map(\.pathRegex) == [".*"])
        #expect(restock.first?.methods == ["POST"])
        #expect(restock.first?.allowedServices == ["bookstore.bookstore.cluster.local"])
        let toMysql = try #require(warehouse.outboundMatches(to: "bookwarehouse/mysql").first)
        #expect(toMysql.destinationIPRanges == ["10.244.0.6/32"])
        #expect(toMysql.appProtocol == .tcp)
        let mysql = try #require(controller.config(for: PodKey("bookwarehouse", "mysql-0")))
        #expect(mysql.inbound.trafficMatches.map(\.port) == [3306])
        #expect(mysql.inbound.trafficMatches.first?.allowedEndpoints == ["bookwarehouse.bookwarehouse.cluster.local"])
        #expect(mysql.outbound.trafficMatches.isEmpty)
    }

    @Test func missingRouteGroupIsReportedAndDeniesEverything() throws {
        var controller = Self.bookstore()
        _ = controller.apply([.delete(ResourceKey(kind: .httpRouteGroup, namespace: "bookstore", name: "bookstore-service-routes"))])
        let store = try #require(controller.config(for: PodKey("bookstore", "bookstore-1")))
        #expect(store.inbound.trafficMatches[0].httpServiceRouteRules.allSatisfy { $0.rules.isEmpty })
        #expect(controller.diagnostics.contains("TrafficTarget bookstore/bookstore: HTTPRouteGroup bookstore/bookstore-service-routes not found"))
    }

    @Test func splitWeightsGoToTheRootServiceOnTheClient() throws {
        var controller = Self.bookstore(ClusterFixtures.bookstoreV2)
        _ = controller.apply([ClusterFixtures.split("bookstore.bookstore", backends: [("bookstore-v1", 50), ("bookstore-v2", 50)])])
        let buyer = try #require(controller.config(for: PodKey("bookbuyer", "bookbuyer-1")))
        let root = try #require(buyer.outboundMatches(to: "bookstore/bookstore").first)
        #expect(root.httpServiceRouteRules[0].rules[0].targetClusters == [
            WeightedCluster(name: "bookstore/bookstore-v1|14001", weight: 50), WeightedCluster(name: "bookstore/bookstore-v2|14001", weight: 50),
        ])
        #expect(root.destinationIPRanges == ["10.96.0.10/32"])
        #expect(buyer.cluster("bookstore/bookstore-v2|14001")?.endpoints.map(\.address) == ["10.244.0.7:14001"])
        #expect(buyer.cluster("bookstore/bookstore-v1|14001")?.endpoints.map(\.address) == ["10.244.0.4:14001"])
        #expect(controller.diagnostics.isEmpty)
    }

    /// Found by fuzz-manifest: backends listed out of name order came out in the split's order,
    /// while a sidecar reads `TargetClusters` (a JSON map, printed with sorted keys) back in name
    /// order, so the simulator and a real sidecar walked the split in different orders.
    @Test func splitBackendsComeOutInTheOrderTheyReadBackFromJSON() throws {
        var controller = Self.bookstore(ClusterFixtures.bookstoreV2)
        _ = controller.apply([ClusterFixtures.split("bookstore", backends: [("bookstore-v2", 90), ("bookstore-v1", 10)])])
        let buyer = try #require(controller.config(for: PodKey("bookbuyer", "bookbuyer-1")))
        let root = try #require(buyer.outboundMatches(to: "bookstore/bookstore").first)
        #expect(root.httpServiceRouteRules[0].rules[0].targetClusters == [
            WeightedCluster(name: "bookstore/bookstore-v1|14001", weight: 10), WeightedCluster(name: "bookstore/bookstore-v2|14001", weight: 90),
        ])
        #expect(try ProxyConfig(jsonText: buyer.renderedJSON()) == buyer)
    }

    @Test(arguments: ["bookstore", "bookstore.bookstore", "bookstore.bookstore.svc", "bookstore.bookstore.svc.cluster", "bookstore.bookstore.svc.cluster.local"])
    func everyRootNameFormIsAccepted(root: String) throws {
        var controller = Self.bookstore(ClusterFixtures.bookstoreV2)
        _ = controller.apply([ClusterFixtures.split(root, backends: [("bookstore-v1", 0), ("bookstore-v2", 100)])])
        let buyer = try #require(controller.config(for: PodKey("bookbuyer", "bookbuyer-1")))
        let match = try #require(buyer.outboundMatches(to: "bookstore/bookstore").first)
        // Weight 0 backends are left out.
        #expect(match.httpServiceRouteRules[0].rules[0].targetClusters == [WeightedCluster(name: "bookstore/bookstore-v2|14001", weight: 100)])
    }

    @Test func invalidSplitsAreIgnoredAndReported() throws {
        var controller = Self.bookstore(ClusterFixtures.bookstoreV2)
        _ = controller.apply([
            ClusterFixtures.split("bookstore", backends: [("bookstore-v3", 100)]),
            ClusterFixtures.split("bookstore.other", backends: [("bookstore-v1", 100)], name: "wrong-namespace"),
            ClusterFixtures.split("bookstore", backends: [("bookstore-v1", 0)], name: "zero"),
        ])
        let buyer = try #require(controller.config(for: PodKey("bookbuyer", "bookbuyer-1")))
        let root = try #require(buyer.outboundMatches(to: "bookstore/bookstore").first)
        #expect(root.httpServiceRouteRules[0].rules[0].targetClusters == [WeightedCluster(name: "bookstore/bookstore|14001", weight: 100)])
        #expect(controller.diagnostics == [
            "TrafficSplit bookstore/bookstore-split: backend service bookstore/bookstore-v3 does not exist",
            "TrafficSplit bookstore/wrong-namespace: spec.service 'bookstore.other' does not name a service of namespace bookstore",
            "TrafficSplit bookstore/zero: total backend weight is 0",
        ])
        // Creating the missing backend makes the first split valid.
        _ = controller.apply([ClusterFixtures.service("bookstore-v3", "bookstore", selector: ["app": "bookstore", "version": "v3"], clusterIP: "10.96.0.13")])
        let after = try #require(controller.config(for: PodKey("bookbuyer", "bookbuyer-1")))
        #expect(after.outboundMatches(to: "bookstore/bookstore").first?.httpServiceRouteRules[0].rules[0].targetClusters == [WeightedCluster(name: "bookstore/bookstore-v3|14001", weight: 100)])
    }

    @Test func splitDoesNotGrantAccess() throws {
        // bookthief has no TrafficTarget: a split of bookstore gives it nothing.
        var controller = Self.bookstore(ClusterFixtures.bookstoreV2)
        _ = controller.apply([ClusterFixtures.split("bookstore", backends: [("bookstore-v1", 50), ("bookstore-v2", 50)])])
        let thief = try #require(controller.config(for: PodKey("bookthief", "bookthief-1")))
        #expect(thief.outbound.trafficMatches.isEmpty)
    }
}
