import MeshControl
import MeshModel
import MeshTesting
import Testing

/// A pod's Ready condition decides whether it is an endpoint, as Kubernetes' EndpointSlices do:
/// a not-ready pod leaves every service that selects it and comes back when ready, incrementally.
@Suite struct ReadinessTests {
    /// bookstore-1 serves the root service `bookstore` and `bookstore-v1`; a second replica joins both.
    static let secondReplica = ClusterFixtures.pod("bookstore-2", "bookstore", serviceAccount: "bookstore", labels: ["app": "bookstore", "version": "v1"],
                                                   ip: "10.244.0.8", containerPorts: [ContainerPort(name: "web", containerPort: 14001)])

    static func readiness(_ change: ResourceChange, ready: Bool) -> ResourceChange {
        guard case .upsert(.pod(var pod)) = change else { return change }
        pod.setReady(ready)
        return .upsert(.pod(pod))
    }

    static func endpoints(_ controller: MeshController, _ cluster: String) -> [String]? {
        controller.config(for: PodKey("bookbuyer", "bookbuyer-1"))?.cluster(cluster)?.endpoints.map(\.address)
    }

    @Test func aNotReadyPodLeavesEveryServiceThatSelectsItAndReturnsWhenReady() throws {
        let base = ClusterFixtures.bookstoreApps + ClusterFixtures.bookstorePolicies + [Self.secondReplica]
        var controller = MeshController()
        _ = controller.apply(base)
        #expect(Self.endpoints(controller, "bookstore/bookstore|14001") == ["10.244.0.4:14001", "10.244.0.8:14001"])
        #expect(Self.endpoints(controller, "bookstore/bookstore-v1|14001") == ["10.244.0.4:14001", "10.244.0.8:14001"])
        let storeVersion = try #require(controller.config(for: PodKey("bookstore", "bookstore-2"))?.version)

        let notReady = Self.readiness(Self.secondReplica, ready: false)
        let update = controller.apply([notReady])
        #expect(Self.endpoints(controller, "bookstore/bookstore|14001") == ["10.244.0.4:14001"])
        #expect(Self.endpoints(controller, "bookstore/bookstore-v1|14001") == ["10.244.0.4:14001"])
        // The clients of its services change; the pod keeps its own config and stays meshed.
        #expect(update.changed == [PodKey("bookbuyer", "bookbuyer-1")])
        #expect(controller.config(for: PodKey("bookstore", "bookstore-2"))?.version == storeVersion)
        IncrementalTests.expectSameAsFresh(controller, base + [notReady], meshConfig: MeshConfig())

        let ready = Self.readiness(Self.secondReplica, ready: true)
        _ = controller.apply([ready])
        #expect(Self.endpoints(controller, "bookstore/bookstore|14001") == ["10.244.0.4:14001", "10.244.0.8:14001"])
        IncrementalTests.expectSameAsFresh(controller, base + [ready], meshConfig: MeshConfig())
    }

    @Test func theLastReadyPodGoingLeavesTheServiceWithNoEndpoints() throws {
        var controller = MeshController()
        _ = controller.apply(ClusterFixtures.bookstoreApps + ClusterFixtures.bookstorePolicies)
        guard let store = ClusterFixtures.bookstoreApps.first(where: { if case .upsert(.pod(let pod)) = $0 { pod.metadata.name == "bookstore-1" } else { false } }) else {
            Issue.record("no bookstore-1 in the fixture")
            return
        }
        _ = controller.apply([Self.readiness(store, ready: false)])
        // Unlike a deleted pod, a not-ready one still runs as the identity: the service stays, empty.
        #expect(Self.endpoints(controller, "bookstore/bookstore|14001") == [])
        let unknown: ResourceChange = {
            guard case .upsert(.pod(var pod)) = store else { return store }
            pod.conditions = [PodCondition(type: PodCondition.ready, status: .unknown)]
            return .upsert(.pod(pod))
        }()
        _ = controller.apply([unknown])
        #expect(Self.endpoints(controller, "bookstore/bookstore|14001") == [])
    }

    @Test func localClusterKeepsReportedReadinessAcrossReReads() throws {
        let workload = LocalClusterTests.workload("store", replicas: 2)
        var cluster = LocalCluster(plan: .loopback, meshNamespaces: ["shop"])
        _ = cluster.replace(with: [LocalClusterTests.service("store"), workload])
        let store0 = PodKey(namespace: "shop", name: "store-0")
        #expect(cluster.pod(store0)?.isReady == true)

        let reported = cluster.setReady(store0, false)
        let changes = try #require(reported)
        guard case .upsert(.pod(let pod))? = changes.first else {
            Issue.record("expected the pod's upsert, got \(changes)")
            return
        }
        #expect(changes.count == 1)
        #expect(!pod.isReady)
        #expect(pod.podIP == "127.1.0.10")
        #expect(cluster.setReady(store0, false) == [])
        #expect(cluster.setReady(PodKey(namespace: "shop", name: "store-9"), false) == nil)

        // A re-read of unchanged manifests keeps the condition and gives no change.
        #expect(cluster.replace(with: [LocalClusterTests.service("store"), workload]).isEmpty)
        #expect(cluster.pod(store0)?.isReady == false)
        // A pod deleted and created again starts afresh.
        _ = cluster.replace(with: [LocalClusterTests.service("store"), LocalClusterTests.workload("store", replicas: 0)])
        _ = cluster.replace(with: [LocalClusterTests.service("store"), workload])
        #expect(cluster.pod(store0)?.isReady == true)
    }
}
