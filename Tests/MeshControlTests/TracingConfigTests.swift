import MeshControl
import MeshManifest
import MeshModel
import MeshTesting
import Testing

/// MeshConfig `observability.tracing` reaches every sidecar's config as `Spec.Tracing`, and a
/// runtime change (tracing on, then off) changes every pod's config.
@Suite struct TracingConfigTests {
    static func meshConfig(tracing enable: Bool) -> MeshConfig {
        var config = ClusterFixtures.permissive()
        config.observability.tracing.enable = enable
        config.observability.tracing.sampledFraction = 0.5
        return config
    }

    @Test func enablingTracingAtRuntimeReachesEverySidecar() throws {
        var controller = PolicyTests.fortio([], meshConfig: Self.meshConfig(tracing: false))
        let pods = [PodKey("demo", "fortio-client-1"), PodKey("demo", "fortio-1")]
        #expect(pods.allSatisfy { controller.config(for: $0)?.spec.tracing == nil })
        let on = controller.apply([.upsert(.meshConfig(Self.meshConfig(tracing: true)))])
        #expect(Set(pods).isSubset(of: on.changed))
        let spec = try #require(controller.config(for: pods[0])?.spec.tracing)
        #expect(spec == TracingSpec(address: "jaeger.fsm-system.svc.cluster.local:9411", endpoint: "/api/v2/spans", sampledFraction: 0.5))
        let json = try #require(controller.config(for: pods[0])).renderedJSON()
        #expect(json.contains(#""Tracing":{"Address":"jaeger.fsm-system.svc.cluster.local:9411","Endpoint":"/api/v2/spans","SampledFraction":0.5}"#), "\(json)")
        #expect(try ProxyConfig(jsonText: json) == controller.config(for: pods[0]))
        _ = controller.apply([.upsert(.meshConfig(Self.meshConfig(tracing: false)))])
        #expect(controller.config(for: pods[0])?.spec.tracing == nil)
    }

    @Test func aBadSampledFractionIsRefusedAtItsLine() {
        let text = """
            apiVersion: config.flomesh.io/v1alpha1
            kind: MeshConfig
            metadata: {name: fsm-mesh-config, namespace: fsm-system}
            spec:
              observability:
                tracing: {enable: true, sampledFraction: 2}
            """
        #expect(throws: ManifestError.self) { try ManifestDecoder.decode(text, file: "mesh.yaml") }
        let message = (try? ManifestDecoder.decode(text, file: "mesh.yaml")).map { _ in "" } ?? {
            do { _ = try ManifestDecoder.decode(text, file: "mesh.yaml"); return "" } catch { return "\(error)" }
        }()
        #expect(message.hasPrefix("mesh.yaml:6:"), "\(message)")
        #expect(message.contains("sampledFraction"), "\(message)")
    }
}
