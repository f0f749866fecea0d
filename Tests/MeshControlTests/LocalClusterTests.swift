import MeshControl
import MeshModel
import Testing

struct LocalClusterTests {
    static func workload(_ name: String, replicas: Int = 1, namespace: String = "shop") -> Resource {
        .workload(Workload(metadata: ObjectMeta(name: name, namespace: namespace), replicas: replicas, selector: ["app": name],
                           template: PodTemplate(metadata: ObjectMeta(name: "", labels: ["app": name]), spec: PodSpec(serviceAccountName: name))))
    }

    static func service(_ name: String, namespace: String = "shop", clusterIP: String? = nil) -> Resource {
        .service(Service(metadata: ObjectMeta(name: name, namespace: namespace), ports: [ServicePort(port: 80)], selector: ["app": name], clusterIP: clusterIP))
    }

    @Test func workloadsAreStampedOutWithAddressesInCreationOrder() {
        var cluster = LocalCluster(plan: .loopback, meshNamespaces: ["shop"])
        let changes = cluster.replace(with: [Self.service("store"), Self.workload("store", replicas: 2), Self.workload("buyer"), Self.service("given", clusterIP: "127.9.9.9")])
        #expect(cluster.pods.map(\.metadata.name) == ["buyer-0", "store-0", "store-1"])
        #expect(cluster.pod(PodKey(namespace: "shop", name: "store-0"))?.podIP == "127.1.0.10")
        #expect(cluster.pod(PodKey(namespace: "shop", name: "store-1"))?.podIP == "127.1.0.11")
        #expect(cluster.pod(PodKey(namespace: "shop", name: "buyer-0"))?.podIP == "127.1.0.12")
        #expect(cluster.pod(PodKey(namespace: "shop", name: "store-0"))?.metadata.labels == ["app": "store"])
        guard case .service(let store)? = cluster.resources[ResourceKey(kind: .service, namespace: "shop", name: "store")],
              case .service(let given)? = cluster.resources[ResourceKey(kind: .service, namespace: "shop", name: "given")],
              case .namespace(let shop)? = cluster.resources[ResourceKey(kind: .namespace, namespace: "", name: "shop")] else {
            Issue.record("missing resources")
            return
        }
        #expect(store.clusterIP == "127.2.0.10")
        #expect(given.clusterIP == "127.9.9.9")
        // The namespace is created and enrolled, and comes first.
        #expect(shop.metadata.labels[ClusterConventions.monitoredLabel] == "fsm")
        #expect(shop.metadata.annotations[ClusterConventions.injectionAnnotation] == "enabled")
        #expect(changes.first == .upsert(.namespace(shop)))
        #expect(changes.count == 1 + 2 + 2 + 3)
    }

    @Test func replacingGivesOnlyTheDifferencesAndAddressesStayStable() {
        var cluster = LocalCluster(plan: .loopback)
        _ = cluster.replace(with: [Self.workload("store", replicas: 2), Self.workload("buyer")])
        #expect(cluster.replace(with: [Self.workload("store", replicas: 2), Self.workload("buyer")]).isEmpty)

        // Scaled down and buyer removed: the workload and its pods go, nothing else moves.
        let shrink = cluster.replace(with: [Self.workload("store", replicas: 1)])
        #expect(shrink.contains(.delete(ResourceKey(kind: .pod, namespace: "shop", name: "store-1"))))
        #expect(shrink.contains(.delete(ResourceKey(kind: .pod, namespace: "shop", name: "buyer-0"))))
        #expect(shrink.contains(.delete(ResourceKey(kind: .deployment, namespace: "shop", name: "buyer"))))
        #expect(shrink.contains(.upsert(Self.workload("store", replicas: 1))))
        #expect(shrink.count == 4)

        // Back again: the same addresses as before, a new pod gets the next one.
        _ = cluster.replace(with: [Self.workload("store", replicas: 3), Self.workload("buyer")])
        #expect(cluster.pod(PodKey(namespace: "shop", name: "store-1"))?.podIP == "127.1.0.11")
        #expect(cluster.pod(PodKey(namespace: "shop", name: "buyer-0"))?.podIP == "127.1.0.12")
        #expect(cluster.pod(PodKey(namespace: "shop", name: "store-2"))?.podIP == "127.1.0.13")
    }

    @Test func simulatorAndLoopbackPlansNumberTheSameWay() {
        #expect(AddressPlan.format(AddressPlan.simulator.podAddress(0)) == "10.244.0.10")
        #expect(AddressPlan.format(AddressPlan.simulator.serviceAddress(3)) == "10.96.0.13")
        #expect(AddressPlan.format(AddressPlan.loopback.podAddress(300)) == "127.1.1.54")
        #expect(AddressPlan.parse("127.1.1.54") == AddressPlan.loopback.podAddress(300))
        #expect(AddressPlan.parse("127.1.1") == nil)
        #expect(AddressPlan.parse("127.1.1.256") == nil)
        #expect(ClusterConventions.ordinal(ofPod: "bookstore-v1-12") == 12)
        #expect(ClusterConventions.ordinal(ofPod: "bookstore") == nil)
    }
}
