import MeshControl
import MeshModel
import MeshTesting
import Testing

/// F2-001: an IngressBackend puts its sources on the inbound port of the backend's sidecar, as
/// data the inbound border enforces; other ports and services admit nobody from outside.
@Suite struct IngressBackendTests {
    /// Service foo in the meshed namespace test (target port 80, and 81 that no IngressBackend names),
    /// and FSM's ingress controller `fsm-ingress` in fsm-system.
    static let mesh = """
    apiVersion: v1
    kind: Namespace
    metadata: {name: test, labels: {flomesh.io/monitored-by: fsm}, annotations: {flomesh.io/sidecar-injection: enabled}}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: foo, namespace: test}
    spec: {selector: {app: foo}, ports: [{name: web, port: 80}, {name: admin, port: 81}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: foo-0, namespace: test, labels: {app: foo}}
    spec: {containers: [{name: foo, image: foo, ports: [{containerPort: 80}, {containerPort: 81}]}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: fsm-ingress, namespace: fsm-system}
    spec: {selector: {app: fsm-ingress}, ports: [{port: 80}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: fsm-ingress-0, namespace: fsm-system, labels: {app: fsm-ingress}}
    spec: {containers: [{name: ingress, image: pipy}]}

    """

    func inbound(_ cluster: GatewayCluster, port: Int) -> InboundTrafficMatch? {
        cluster.controller.config(for: PodKey(namespace: "test", name: "foo-0"))?.inbound.trafficMatches.first { $0.port == port }
    }

    func demo(_ id: String) throws -> GatewayCluster {
        var cluster = GatewayCluster()
        try cluster.apply(Self.mesh, namespace: "default")
        let demo = try #require(GatewayDemo.all.first { $0.id == id })
        try cluster.apply(demo.manifests, namespace: demo.namespace)
        return cluster
    }

    @Test func aServiceSourceAdmitsItsEndpoints() throws {
        var cluster = try demo("F2-001d")
        let ingressIP = try #require(cluster.podIP("fsm-system", "fsm-ingress-0"))
        #expect(inbound(cluster, port: 80)?.ingress == IngressAdmission(policies: ["test/basic"], protocol: .http, sourceIPRanges: ["\(ingressIP)/32"]))
        #expect(inbound(cluster, port: 81)?.ingress == nil)
        // A second ingress pod joins the admitted addresses.
        try cluster.apply("""
        apiVersion: v1
        kind: Pod
        metadata: {name: fsm-ingress-1, namespace: fsm-system, labels: {app: fsm-ingress}}
        spec: {containers: [{name: ingress, image: pipy}]}
        """, namespace: "fsm-system")
        let second = try #require(cluster.podIP("fsm-system", "fsm-ingress-1"))
        #expect(inbound(cluster, port: 80)?.ingress?.sourceIPRanges == ["\(ingressIP)/32", "\(second)/32"].sorted())
        // Deleting the IngressBackend closes the port to the outside again.
        _ = cluster.delete(ResourceKey(kind: .ingressBackend, namespace: "test", name: "basic"))
        #expect(inbound(cluster, port: 80)?.ingress == nil)
    }

    @Test func rangesAndPrincipals() throws {
        let ranges = try demo("F2-001b")
        #expect(inbound(ranges, port: 80)?.ingress == IngressAdmission(policies: ["test/basic"], sourceIPRanges: ["10.0.0.0/8"]))
        let mtls = try demo("F2-001c")
        #expect(inbound(mtls, port: 80)?.ingress == IngressAdmission(policies: ["test/basic"], protocol: .https, principals: ["client.default.svc.cluster.local"]))
    }

    @Test func theAdmissionSurvivesTheConfigsJSON() throws {
        let cluster = try demo("F2-001c")
        let config = try #require(cluster.controller.config(for: PodKey(namespace: "test", name: "foo-0")))
        let decoded = try ProxyConfig(jsonText: config.renderedJSON(pretty: false))
        #expect(decoded.inbound.trafficMatches.first { $0.port == 80 }?.ingress == inbound(cluster, port: 80)?.ingress)
    }
}
