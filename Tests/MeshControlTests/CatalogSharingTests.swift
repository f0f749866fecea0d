import MeshControl
import MeshModel
import MeshTesting
import Testing

/// In permissive mode every client's outbound lists every service: the clients' configs hold the
/// one catalog, stamped with each client's identity, instead of a copy each; an endpoint change
/// (the catalog patched in place) and a per-client retry policy keep that true, and the configs
/// stay what a controller built from scratch gives.
@Suite struct CatalogSharingTests {
    static let services = 20

    static func resources() -> [ResourceChange] {
        var changes = [ClusterFixtures.namespace("shop")]
        for i in 0..<services {
            changes.append(ClusterFixtures.service("s\(i)", "shop", selector: ["app": "s\(i)"], clusterIP: "10.96.1.\(i)"))
            changes.append(ClusterFixtures.pod("s\(i)-1", "shop", serviceAccount: "s\(i)", labels: ["app": "s\(i)"], ip: "10.244.1.\(i)"))
        }
        changes.append(ClusterFixtures.pod("buyer-1", "shop", serviceAccount: "buyer", labels: ["app": "buyer"], ip: "10.244.2.1"))
        changes.append(ClusterFixtures.pod("thief-1", "shop", serviceAccount: "thief", labels: ["app": "thief"], ip: "10.244.2.2"))
        changes.append(.upsert(.retry(Retry(
            metadata: ObjectMeta(name: "retry", namespace: "shop"), source: ClusterFixtures.sa("thief", "shop"),
            destinations: [IdentityReference(kind: "Service", name: "s3", namespace: "shop")],
            retryPolicy: RetryPolicy(retryOn: "5xx", numRetries: 2)))))
        return changes
    }

    static let endpointChange = ClusterFixtures.pod("s7-1", "shop", serviceAccount: "s7", labels: ["app": "s7"], ip: "10.244.3.7")

    func configs(_ controller: MeshController) throws -> (buyer: ProxyConfig, server: ProxyConfig, thief: ProxyConfig) {
        (try #require(controller.config(for: PodKey("shop", "buyer-1"))),
         try #require(controller.config(for: PodKey("shop", "s0-1"))),
         try #require(controller.config(for: PodKey("shop", "thief-1"))))
    }

    @Test func clientsHoldOneCatalogStampedWithTheirIdentity() throws {
        var controller = MeshController(meshConfig: ClusterFixtures.permissive(retries: true))
        _ = controller.apply(Self.resources())
        let before = try configs(controller)
        #expect(before.buyer.outbound.storageKey == before.server.outbound.storageKey)
        #expect(before.buyer.outbound.trafficMatchCount == Self.services)
        #expect(before.buyer.outbound.trafficMatches.allSatisfy { $0.serviceIdentity == "buyer.shop.cluster.local" })
        #expect(before.server.outbound.trafficMatches.allSatisfy { $0.serviceIdentity == "s0.shop.cluster.local" })
        // The retrying client has clusters of its own (one with its policy); its matches are still the catalog's.
        #expect(before.thief.outbound.storageKey != before.buyer.outbound.storageKey)
        #expect(before.thief.cluster("shop/s3|14001")?.retryPolicy?.numRetries == 2)
        #expect(before.buyer.cluster("shop/s3|14001")?.retryPolicy == nil)

        let update = controller.apply([Self.endpointChange])
        #expect(update.changed.contains(PodKey("shop", "buyer-1")))
        let after = try configs(controller)
        #expect(after.buyer.outbound.storageKey == after.server.outbound.storageKey)
        #expect(after.buyer.outbound.storageKey != before.buyer.outbound.storageKey)
        #expect(after.buyer.cluster("shop/s7|14001")?.endpoints == [ClusterEndpoint(address: "10.244.3.7:14001", weight: 100)])
        #expect(after.thief.cluster("shop/s7|14001")?.endpoints == [ClusterEndpoint(address: "10.244.3.7:14001", weight: 100)])
        #expect(after.thief.cluster("shop/s3|14001")?.retryPolicy?.numRetries == 2)

        var fresh = MeshController(meshConfig: ClusterFixtures.permissive(retries: true))
        _ = fresh.apply(Self.resources() + [Self.endpointChange])
        let expected = try configs(fresh)
        for (got, want) in [(after.buyer, expected.buyer), (after.server, expected.server), (after.thief, expected.thief)] {
            #expect(got == want)
            #expect(got.renderedJSON() == want.renderedJSON())
        }
    }
}
