import Foundation
import MeshControlPlane
import MeshIdentity
import MeshModel
import MeshRuntime
import NIOHTTP1
import Testing

/// `GET /v1/gateways/<ns>/<gateway>`: a Gateway's config (its listeners' private keys included)
/// goes to that gateway's credential only. Addresses: 127.91.5.x (`ControllerAccessTests.Controller`).
@Suite(.timeLimit(.minutes(2)))
struct ControllerGatewayConfigTests {
    static let gateway = """

    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {name: edge, namespace: shop}
    spec:
      gatewayClassName: fsm-gateway-cls
      listeners: [{name: https, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: edge-cert}]}}]
    ---
    apiVersion: v1
    kind: Secret
    metadata: {name: edge-cert, namespace: shop}
    type: kubernetes.io/tls
    stringData: {tls.crt: the-certificate, tls.key: the-private-key}
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: store, namespace: shop}
    spec:
      parentRefs: [{name: edge}]
      rules: [{backendRefs: [{name: store, port: 8080}]}]

    """

    @Test func theConfigGoesToItsGatewayOnly() async throws {
        try await ControllerAccessTests.Controller.run(extraManifests: Self.gateway) { controller in
            let path = "/v1/gateways/shop/edge"
            let own = try await controller.call(.GET, path, authorization: "Bearer \(try controller.token(.gateway(namespace: "shop", name: "edge")))")
            #expect(own.status == 200)
            let config = try JSONDecoder().decode(GatewayConfig.self, from: Data(own.body.utf8))
            #expect(config.gateway == "shop/edge")
            #expect(config.listeners.first?.tls?.certificates.first?.privateKeyPEM == "the-private-key")
            #expect(config.listeners.first?.virtualHosts.first?.rules.first?.backends.first?.service == "shop/store")
            #expect(own.header("x-fsm-config-version") == config.version)
            let again = try await controller.call(.GET, path + "?version=\(config.version)", authorization: "Bearer \(try controller.token(.gateway(namespace: "shop", name: "edge")))")
            #expect(again.status == 304)

            let callers: [(String?, ControllerAccessTests.Expect)] = [
                (nil, .refused(.missingCredential)),
                ("Bearer \(try controller.token(.operator))", .refused(.podOnly)),
                ("Bearer \(try controller.token(.pod(namespace: "shop", name: "buyer-1")))", .refused(.otherPod)),
                ("Bearer \(try controller.token(.gateway(namespace: "shop", name: "other")))", .refused(.otherPod)),
            ]
            for (authorization, expected) in callers {
                let response = try await controller.call(.GET, path, authorization: authorization)
                ControllerAccessTests.check(response, expected, "GET \(path) as \(authorization ?? "nobody")")
                #expect(!response.body.contains("the-private-key"))
            }
            // A gateway credential opens no pod's config.
            let podConfig = try await controller.call(.GET, "/v1/configs/shop/buyer-1", authorization: "Bearer \(try controller.token(.gateway(namespace: "shop", name: "edge")))")
            ControllerAccessTests.check(podConfig, .refused(.otherPod), "a gateway reading a pod's config")
            let unknown = try await controller.call(.GET, "/v1/gateways/shop/other", authorization: "Bearer \(try controller.token(.gateway(namespace: "shop", name: "other")))")
            #expect(unknown.status == 404)
        }
    }
}
