import MeshControl
import MeshModel
import MeshTesting
import Testing

/// MeshConfig `spec.observability.remoteLogging.enable` reaches every proxy's config as its access
/// log switch, and flipping it is a config change the sidecars pick up (DECISIONS 123).
@Suite struct AccessLogSwitchTests {
    @Test func theMeshConfigSwitchIsEveryProxysAccessLog() throws {
        var controller = PermissiveTests.httpbinCluster()
        let curl = PodKey("app", "curl-1")
        let off = try #require(controller.config(for: curl))
        #expect(!off.spec.accessLog)
        #expect(!off.renderedJSON().contains("RemoteLogging"))

        var meshConfig = ClusterFixtures.permissive()
        meshConfig.observability.remoteLogging.enable = true
        let update = controller.apply([.upsert(.meshConfig(meshConfig))])
        #expect(update.changed.contains(curl) && update.changed.contains(PodKey("app", "httpbin-1")))
        let on = try #require(controller.config(for: curl))
        #expect(on.spec.accessLog)
        #expect(on.version != off.version)
        #expect(on.renderedJSON().contains(#""Observability":{"RemoteLogging":{"Enable":true}}"#))
        #expect(try ProxyConfig(jsonText: on.renderedJSON()) == on)
    }

    @Test func theManifestFieldIsDecodedAndCheckedLikeFSMsCRD() throws {
        let yaml = """
        apiVersion: config.flomesh.io/v1alpha3
        kind: MeshConfig
        metadata: { name: fsm-mesh-config, namespace: fsm-system }
        spec:
          observability:
            remoteLogging: { enable: true, address: collector.logs, port: 8123, endpoint: /insert }
        """
        let resources = try ManifestDecoder.decode(yaml, file: "mesh.yaml")
        guard case .meshConfig(let config)? = resources.first?.resource else { Issue.record("not a MeshConfig"); return }
        #expect(config.observability.remoteLogging.enable)
        #expect(config.observability.remoteLogging.address == "collector.logs" && config.observability.remoteLogging.port == 8123)
        #expect(throws: ManifestError.self) { try ManifestDecoder.decode(yaml.replacing("enable: true", with: "enabled: true"), file: "mesh.yaml") }
    }
}
