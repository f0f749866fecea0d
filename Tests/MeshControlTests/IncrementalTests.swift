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

    /// Every meshed pod's config equals that of a controller given the same resources at once.
    static func expectSameAsFresh(_ controller: MeshController, _ resources: [ResourceChange], meshConfig: MeshConfig) {
        var fresh = MeshController(meshConfig: meshConfig)
        _ = fresh.apply(resources)
        #expect(fresh.meshedPods == controller.meshedPods)
        for pod in fresh.meshedPods { #expect(fresh.config(for: pod) == controller.config(for: pod), "\(pod)") }
        #expect(fresh.diagnostics == controller.diagnostics)
    }

    @Test func permissiveCatalogPatchedInPlaceMatchesAFreshController() throws {
        // A split root's piece also holds its backends' clusters; the first service (by name) that
        // has a cluster provides it to the catalog, so a backend's IP change patches the root's entry.
        var resources: [ResourceChange] = [ClusterFixtures.namespace("n0")]
        for i in 0..<4 {
            resources.append(ClusterFixtures.service("s\(i)", "n0", port: 8000, selector: ["app": "s\(i)"], clusterIP: "10.96.2.\(i)"))
            for r in 0..<2 {
                resources.append(ClusterFixtures.pod("s\(i)-\(r)", "n0", serviceAccount: "sa\(i)", labels: ["app": "s\(i)"], ip: "10.244.\(i).\(r + 1)"))
            }
        }
        resources.append(ClusterFixtures.split("s0.n0.svc.cluster.local", backends: [("s1", 80), ("s2", 20)], name: "s0-split", namespace: "n0"))
        let meshConfig = ClusterFixtures.permissive()
        var controller = MeshController(meshConfig: meshConfig)
        _ = controller.apply(resources)

        // Same shape (an endpoint moves): patched, one recomputation per group, nothing recomputed in full.
        let move = ClusterFixtures.pod("s1-0", "n0", serviceAccount: "sa1", labels: ["app": "s1"], ip: "10.245.1.1")
        resources.append(move)
        let moved = controller.apply([move])
        #expect(moved.recomputed == 4)
        #expect(moved.changed.count == 8)
        let client = try #require(controller.config(for: PodKey("n0", "s3-0")))
        #expect(client.cluster("n0/s1|8000")?.endpoints.map(\.address) == ["10.244.1.2:8000", "10.245.1.1:8000"])
        Self.expectSameAsFresh(controller, resources, meshConfig: meshConfig)

        // New shape (a service gains a port): the catalog is reassembled and clients recompute.
        let twoPorts = ResourceChange.upsert(.service(Service(
            metadata: ObjectMeta(name: "s3", namespace: "n0"),
            ports: [ServicePort(name: "http", port: 8000, appProtocol: .http), ServicePort(name: "admin", port: 9000, appProtocol: .http)],
            selector: ["app": "s3"], clusterIP: "10.96.2.3"
        )))
        resources.append(twoPorts)
        _ = controller.apply([twoPorts])
        #expect(controller.config(for: PodKey("n0", "s0-0"))?.outbound.trafficMatches.contains { $0.port == 9000 } == true)
        Self.expectSameAsFresh(controller, resources, meshConfig: meshConfig)

        // A pod leaves and comes back: its group is deleted, its slot reused.
        let gone = ResourceChange.delete(ResourceKey(kind: .pod, namespace: "n0", name: "s2-0"))
        let update = controller.apply([gone, ClusterFixtures.pod("s2-1", "n0", serviceAccount: "sa2b", labels: ["app": "s2"], ip: "10.244.2.2")])
        #expect(update.removed == [PodKey("n0", "s2-0")])
        resources += [gone, ClusterFixtures.pod("s2-1", "n0", serviceAccount: "sa2b", labels: ["app": "s2"], ip: "10.244.2.2")]
        Self.expectSameAsFresh(controller, resources, meshConfig: meshConfig)
    }
}
