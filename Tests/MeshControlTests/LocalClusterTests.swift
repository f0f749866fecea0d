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

    /// `AddressPlan.parse` (which scans the string's UTF-8 buffer) agrees with a plain reading of
    /// the grammar (four dot-separated decimal parts of 1-3 digits, each at most 255) on fixed
    /// cases and on random strings over digits, dots and a few other characters.
    @Test func addressParseAcceptsExactlyDottedQuads() {
        func reference(_ text: String) -> UInt32? {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var value: UInt32 = 0
            for part in parts {
                guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }), let number = UInt32(part), number <= 255 else { return nil }
                value = value << 8 | number
            }
            return value
        }
        for text in ["0.0.0.0", "255.255.255.255", "001.2.3.4", "10.244.0.10", "1.2.3.4.5", "1..2.3", "1.2.3.", ".1.2.3", "", "1.2.3.4 ",
                     "1000.1.1.1", "10.244.0.10:8080", "\u{FF11}.2.3.4", "a.b.c.d"] {
            #expect(AddressPlan.parse(text) == reference(text), "\(text)")
        }
        // Near-quads: mostly four parts of 1-3 digits; sometimes three or five parts, an empty or
        // four-character part, a letter or a colon.
        var state: UInt64 = 11
        func next(_ bound: UInt64) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % bound)
        }
        var accepted = 0
        for _ in 0..<20_000 {
            let count = next(4) == 0 ? 3 + 2 * next(2) : 4
            let parts = (0..<count).map { _ in
                String((0..<(next(8) == 0 ? 4 * next(2) : 1 + next(3))).map { _ in next(30) == 0 ? Array("x:")[next(2)] : Array("0123456789")[next(10)] })
            }
            let text = parts.joined(separator: ".")
            if reference(text) != nil { accepted += 1 }
            #expect(AddressPlan.parse(text) == reference(text), "\(text)")
        }
        #expect(accepted > 1_000)
    }
}
