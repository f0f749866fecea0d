import Foundation
import MeshControl
import MeshManifest
import MeshModel
import MeshTesting
import Testing

/// The EgressGateway from its YAML to every meshed pod's config (guides 3.8.2, S-15): the
/// gateway Service's endpoints in `Spec.EgressGateway`, kept in step with its pods, refused with
/// file:line when malformed, failing closed when the Service is gone.
@Suite struct EgressGatewayTests {
    static let gateway = """
    kind: EgressGateway
    apiVersion: policy.flomesh.io/v1alpha1
    metadata:
      name: global-egress-gateway
      namespace: fsm
    spec:
      global:
        - service: fsm-egress-gateway
          namespace: fsm
    """

    static func decoded(_ yaml: String) throws -> ResourceChange {
        .upsert(try #require(ManifestDecoder.decode(yaml, file: "egress-gateway.yaml").first).resource)
    }

    /// A meshed `curl` pod and the gateway's Service and pod in the unmeshed `fsm` namespace.
    static func cluster(_ extra: [ResourceChange] = []) -> MeshController {
        var controller = MeshController(meshConfig: ClusterFixtures.permissive(egress: true))
        _ = controller.apply([
            ClusterFixtures.namespace("curl"),
            ClusterFixtures.namespace("fsm", monitored: false, injection: nil),
            ClusterFixtures.pod("curl-0", "curl", serviceAccount: "curl", labels: ["app": "curl"], ip: "10.244.0.21"),
            ClusterFixtures.service("fsm-egress-gateway", "fsm", port: 1080, selector: ["app": "fsm-egress-gateway"], clusterIP: "10.96.0.80"),
            ClusterFixtures.pod("fsm-egress-gateway-0", "fsm", serviceAccount: "fsm-egress-gateway", labels: ["app": "fsm-egress-gateway"], ip: "10.244.9.1"),
        ] + extra)
        return controller
    }

    static func spec(_ controller: MeshController) throws -> EgressGatewaySpec? {
        try #require(controller.config(for: PodKey("curl", "curl-0"))).spec.egressGateway
    }

    @Test func theGuidesGatewayReachesEveryMeshedPodWithItsEndpoints() throws {
        var controller = Self.cluster([try Self.decoded(Self.gateway)])
        #expect(try Self.spec(controller) == EgressGatewaySpec(service: "fsm/fsm-egress-gateway", endpoints: ["10.244.9.1:1080"], mode: .http2tunnel))
        // The gateway pod is not meshed: it gets no config of its own.
        #expect(controller.config(for: PodKey("fsm", "fsm-egress-gateway-0")) == nil)
        // A second replica joins the endpoints; the pod's config changes.
        let update = controller.apply([ClusterFixtures.pod("fsm-egress-gateway-1", "fsm", serviceAccount: "fsm-egress-gateway",
                                                           labels: ["app": "fsm-egress-gateway"], ip: "10.244.9.2")])
        #expect(update.changed.contains(PodKey("curl", "curl-0")))
        #expect(try Self.spec(controller)?.endpoints == ["10.244.9.1:1080", "10.244.9.2:1080"])
        // Deleted: egress leaves directly again.
        _ = controller.apply([.delete(ResourceKey(kind: .egressGateway, namespace: "fsm", name: "global-egress-gateway"))])
        #expect(try Self.spec(controller) == nil)
    }

    @Test func aMissingGatewayServiceFailsClosedWithAFinding() throws {
        var controller = Self.cluster([try Self.decoded(Self.gateway)])
        _ = controller.apply([.delete(ResourceKey(kind: .service, namespace: "fsm", name: "fsm-egress-gateway"))])
        #expect(try Self.spec(controller) == EgressGatewaySpec(service: "fsm/fsm-egress-gateway", endpoints: []))
        #expect(controller.diagnostics.contains { $0.code.code == "E5017" && $0.text.contains("fsm/fsm-egress-gateway not found") })
    }

    @Test func aSecondGatewayIsReportedAndTheOlderKept() throws {
        let other = Self.gateway.replacingOccurrences(of: "name: global-egress-gateway", with: "name: another")
            .replacingOccurrences(of: "service: fsm-egress-gateway", with: "service: elsewhere")
        let controller = Self.cluster([try Self.decoded(Self.gateway), try Self.decoded(other)])
        #expect(try Self.spec(controller)?.service == "fsm/fsm-egress-gateway")
        #expect(controller.diagnostics.contains { $0.text.contains("EgressGateway fsm/another") && $0.text.contains("ignored") })
    }

    @Test func theGatewaySurvivesTheConfigJSON() throws {
        let controller = Self.cluster([try Self.decoded(Self.gateway)])
        let config = try #require(controller.config(for: PodKey("curl", "curl-0")))
        let back = try ProxyConfig(jsonText: config.jsonValue.rendered())
        #expect(back.spec.egressGateway == config.spec.egressGateway)
        #expect(config.jsonValue.rendered().contains("\"EgressGateway\""))
    }

    @Test func aBadModeInTheConfigJSONIsRefusedWithItsPath() throws {
        let controller = Self.cluster([try Self.decoded(Self.gateway)])
        let json = try #require(controller.config(for: PodKey("curl", "curl-0"))).jsonValue.rendered()
            .replacingOccurrences(of: "\"Mode\":\"http2tunnel\"", with: "\"Mode\":\"carrier-pigeon\"")
        #expect(throws: ProxyConfigDecodingError.self) { try ProxyConfig(jsonText: json) }
        do { _ = try ProxyConfig(jsonText: json) } catch { #expect("\(error)".contains("EgressGateway.Mode"), "\(error)") }
    }

    @Test func malformedGatewaysAreRefusedWithTheirPlace() {
        let cases: [(String, String)] = [
            (Self.gateway.replacingOccurrences(of: "    - service: fsm-egress-gateway\n", with: "    - "), "egress-gateway.yaml:8:"),
            (Self.gateway.replacingOccurrences(of: "      namespace: fsm", with: "      mode: http2tunnel"), "egress-gateway.yaml:8:"),
            (Self.gateway + "\n      mode: carrier-pigeon", "egress-gateway.yaml:10:"),
            (Self.gateway + "\n      mode: socks5", "not supported yet"),
            (Self.gateway.replacingOccurrences(of: "  global:\n    - service: fsm-egress-gateway\n      namespace: fsm", with: "  global: []"), "global"),
            (Self.gateway + "\n      weight: 3", "weight"),
        ]
        for (yaml, fragment) in cases {
            #expect(throws: ManifestError.self) { try ManifestDecoder.decode(yaml, file: "egress-gateway.yaml") }
            do { _ = try ManifestDecoder.decode(yaml, file: "egress-gateway.yaml") } catch { #expect(error.description.contains(fragment), "\(error.description)") }
        }
    }
}
