import MeshControl
import MeshModel
import MeshTesting
import Testing

@Suite struct IncrementalTests {
    @Test func trafficTargetChangeRecomputesItsSourcesAndDestinationOnly() throws {
        var controller = SMITests.bookstore()
        let warehouseVersion = try #require(controller.config(for: PodKey("bookwarehouse", "bookwarehouse-1"))?.version)
        let update = controller.apply([ClusterFixtures.trafficTarget(
            "bookstore", "bookstore", destination: ClusterFixtures.sa("bookstore", "bookstore"),
            sources: [ClusterFixtures.sa("bookbuyer", "bookbuyer"), ClusterFixtures.sa("bookthief", "bookthief")],
            rules: [TrafficTargetRule(kind: "HTTPRouteGroup", name: "bookstore-service-routes", matches: ["buy-a-book", "books-bought"])]
        )])
        // Sources bookbuyer and bookthief (clients), destination bookstore (server).
        #expect(update.recomputed == 3)
        #expect(update.changed == [PodKey("bookstore", "bookstore-1"), PodKey("bookthief", "bookthief-1")])
        #expect(controller.config(for: PodKey("bookwarehouse", "bookwarehouse-1"))?.version == warehouseVersion)
    }

    @Test func podIPChangeRecomputesOnlyTheClientsOfItsService() throws {
        var controller = SMITests.bookstore()
        let storeBefore = try #require(controller.config(for: PodKey("bookstore", "bookstore-1")))
        let update = controller.apply([ClusterFixtures.pod("bookwarehouse-1", "bookwarehouse", serviceAccount: "bookwarehouse",
                                                   labels: ["app": "bookwarehouse", "version": "v1"], ip: "10.244.9.9")])
        #expect(update.recomputed == 1) // bookstore, the only client of bookwarehouse
        #expect(update.changed == [PodKey("bookstore", "bookstore-1")])
        let storeAfter = try #require(controller.config(for: PodKey("bookstore", "bookstore-1")))
        #expect(storeAfter.version != storeBefore.version)
        #expect(storeAfter.cluster("bookwarehouse/bookwarehouse|14001")?.endpoints.map(\.address) == ["10.244.9.9:14001"])
    }

    @Test func identicalReapplyAndUnrelatedNamespaceRecomputeNothing() {
        var controller = SMITests.bookstore()
        let versions = controller.meshedPods.map { controller.config(for: $0)?.version }
        let unrelated = controller.apply([ClusterFixtures.namespace("elsewhere", monitored: false), ClusterFixtures.namespace("elsewhere2", monitored: false)])
        #expect(unrelated.recomputed == 0)
        #expect(unrelated.changed.isEmpty)
        let same = controller.apply(ClusterFixtures.bookstorePolicies)
        #expect(same.changed.isEmpty)
        #expect(controller.meshedPods.map { controller.config(for: $0)?.version } == versions)
    }

    @Test func replicasShareOneConfig() throws {
        var controller = SMITests.bookstore()
        let update = controller.apply([ClusterFixtures.pod("bookbuyer-2", "bookbuyer", serviceAccount: "bookbuyer", labels: ["app": "bookbuyer", "version": "v1"], ip: "10.244.0.12")])
        #expect(update.recomputed == 0) // joins bookbuyer-1's group; bookbuyer serves nothing, so no client is affected
        #expect(update.changed == [PodKey("bookbuyer", "bookbuyer-2")])
        #expect(controller.config(for: PodKey("bookbuyer", "bookbuyer-2")) == controller.config(for: PodKey("bookbuyer", "bookbuyer-1")))
    }

    @Test func deletingAPodRemovesItAndItsEndpoint() throws {
        var controller = SMITests.bookstore()
        let update = controller.apply([.delete(ResourceKey(kind: .pod, namespace: "bookwarehouse", name: "bookwarehouse-1"))])
        #expect(update.removed == [PodKey("bookwarehouse", "bookwarehouse-1")])
        #expect(!controller.isMeshed(PodKey("bookwarehouse", "bookwarehouse-1")))
        let store = try #require(controller.config(for: PodKey("bookstore", "bookstore-1")))
        // The service has no pod running as bookwarehouse any more, so bookstore cannot reach it at all.
        #expect(store.cluster("bookwarehouse/bookwarehouse|14001") == nil)
        #expect(store.outbound.trafficMatches.isEmpty)
        #expect(update.changed == [PodKey("bookstore", "bookstore-1")])
    }

    @Test func deletingATrafficTargetAndAServiceRemovesAccess() throws {
        var controller = SMITests.bookstore()
        _ = controller.apply([.delete(ResourceKey(kind: .trafficTarget, namespace: "bookstore", name: "bookstore"))])
        let buyer = try #require(controller.config(for: PodKey("bookbuyer", "bookbuyer-1")))
        #expect(buyer.outbound.trafficMatches.isEmpty)
        _ = controller.apply([.delete(ResourceKey(kind: .service, namespace: "bookwarehouse", name: "bookwarehouse"))])
        let store = try #require(controller.config(for: PodKey("bookstore", "bookstore-1")))
        #expect(store.outbound.trafficMatches.isEmpty)
        let warehouse = try #require(controller.config(for: PodKey("bookwarehouse", "bookwarehouse-1")))
        #expect(warehouse.inbound.trafficMatches.isEmpty)
    }

    @Test func fiftyServiceClusterInPermissiveMode() throws {
        var changes: [ResourceChange] = [ClusterFixtures.namespace("n0"), ClusterFixtures.namespace("n1")]
        for i in 0..<50 {
            let ns = "n\(i % 2)"
            changes.append(ClusterFixtures.service("s\(i)", ns, port: 8000 + i % 5, selector: ["app": "s\(i)"], clusterIP: "10.96.1.\(i)"))
            for r in 0..<3 {
                changes.append(ClusterFixtures.pod("s\(i)-\(r)", ns, serviceAccount: "sa\(i)", labels: ["app": "s\(i)"], ip: "10.244.\(i).\(r + 1)"))
            }
        }
        var controller = MeshController(meshConfig: ClusterFixtures.permissive())
        let update = controller.apply(changes)
        #expect(controller.meshedPods.count == 150)
        #expect(update.changed.count == 150)
        #expect(update.recomputed == 50)
        #expect(controller.proxyGroupCount == 50)
        let config = try #require(controller.config(for: PodKey("n1", "s7-2")))
        #expect(config.outbound.trafficMatches.count == 50)
        #expect(config.outbound.clustersConfigs.count == 50)
        #expect(config.outbound.clustersConfigs.allSatisfy { $0.endpoints.count == 3 })
        #expect(config.outbound.trafficMatches.map(\.port) == config.outbound.trafficMatches.map(\.port).sorted())
        #expect(config.inbound.trafficMatches.map(\.port) == [8002])
        // One endpoint change: every client reaches every service in permissive mode.
        let ipChange = controller.apply([ClusterFixtures.pod("s3-0", "n1", serviceAccount: "sa3", labels: ["app": "s3"], ip: "10.245.0.1")])
        #expect(ipChange.recomputed == 50)
        #expect(ipChange.changed.count == 150)
    }
}
