import Foundation
import Logging
import MeshControl
import MeshControlPlane
import MeshIdentity
import MeshRuntime
import MeshShell
import MeshTesting
import NIOCore
import NIOHTTP1
import Testing

/// The credential the injection webhook mints for a pod whose name it cannot know yet: it names a
/// uuid the pod is labelled with (`fsm-proxy-uuid`), and opens that pod's config and certificate,
/// no other's (DECISIONS 47). Controller: 127.91.7.1.
@Suite(.timeLimit(.minutes(2)))
struct ProxyCredentialTests {
    static let access = ControllerAccess(credentials: try! CredentialAuthority(keyBytes: [UInt8](repeating: 1, count: 32)))
    static let labelled = PodKey(namespace: "shop", name: "buyer-7d9c6b8f5c-x2k4q")
    static let other = PodKey(namespace: "shop", name: "store-1")

    static func bearer(_ subject: CredentialSubject) throws -> [String] {
        ["Bearer \(try access.credentials.mint(subject, instance: Array("u-1".utf8)).token)"]
    }

    static func uuid(of pod: PodKey) -> String? { pod == labelled ? "0b5e-uuid" : nil }

    @Test func theCredentialOpensOnlyThePodLabelledWithItsUUID() throws {
        let proxy = try Self.bearer(.proxy(namespace: "shop", uuid: "0b5e-uuid"))
        let subject = CredentialSubject.proxy(namespace: "shop", uuid: "0b5e-uuid")
        for resource in [ControllerResource.config(Self.labelled), .certificate(Self.labelled), .pod(Self.labelled)] {
            #expect(Self.access.decide(resource, authorization: proxy, proxyUUID: Self.uuid) == .granted(subject))
            // Without the label (a controller that does not know the pod yet) nothing is granted.
            #expect(Self.access.decide(resource, authorization: proxy) != .granted(subject))
        }
        guard case .refused(let refusal) = Self.access.decide(.config(Self.other), authorization: proxy, proxyUUID: Self.uuid) else {
            Issue.record("another pod's config granted")
            return
        }
        #expect(refusal.reason == .otherPod)
        #expect(refusal.message == "proxy 0b5e-uuid in shop may not use the API of pod shop/store-1")
        // The same uuid in another namespace is another proxy.
        let elsewhere = try Self.bearer(.proxy(namespace: "other", uuid: "0b5e-uuid"))
        #expect(Self.access.decide(.config(Self.labelled), authorization: elsewhere, proxyUUID: Self.uuid) != .granted(.proxy(namespace: "other", uuid: "0b5e-uuid")))
        if case .refused(let operatorOnly) = Self.access.decide(.status, authorization: proxy, proxyUUID: Self.uuid) {
            #expect(operatorOnly.reason == .operatorOnly)
        } else {
            Issue.record("status granted to a proxy")
        }
    }

    @Test func theControllerServesTheLabelledPodsConfigToItsProxyCredential() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mesh-proxy-credential-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let manifests = ControllerCertificateTests.manifests(buyerIP: block.address(11), storeIP: block.address(12))
            .replacingOccurrences(of: "metadata: {name: buyer-1, namespace: shop, labels: {app: buyer}}",
                                  with: "metadata: {name: buyer-1, namespace: shop, labels: {app: buyer, fsm-proxy-uuid: 4f6b2c1e-uuid}}")
        try Data(manifests.utf8).write(to: directory.appendingPathComponent("mesh.yaml"))
        var logger = Logger(label: "test.proxy-credential")
        logger.logLevel = .critical
        let server = try await ControllerServer.start(manifests: directory.path, settings: ControllerSettings(host: block.address(1), port: 0), logger: logger)
        do {
            try await Self.servesOnlyItsOwnPod(server)
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
    }

    /// The proxy credential of buyer-1's uuid reads buyer-1's config and not store-1's.
    private static func servesOnlyItsOwnPod(_ server: ControllerServer) async throws {
        let port = try #require(server.address?.port)
        let host = try #require(server.address?.ipAddress)
        let token = try server.credentials.mint(.proxy(namespace: "shop", uuid: "4f6b2c1e-uuid"), instance: Array("4f6b2c1e-uuid".utf8)).token
        func get(_ path: String) async throws -> MeshHTTPResponse {
            try await MeshHTTP.request(host: host, port: port, path: path, headers: [("authorization", "Bearer \(token)")], timeout: .seconds(5))
        }
        let mine = try await get("/v1/configs/shop/buyer-1")
        #expect(mine.status == 200)
        #expect(mine.body.contains("buyer.shop.cluster.local"))
        let theirs = try await get("/v1/configs/shop/store-1")
        #expect(theirs.status == 403)
        #expect(!theirs.body.contains("store.shop.cluster.local"))
    }
}
