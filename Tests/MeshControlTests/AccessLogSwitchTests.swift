import MeshControl
import MeshManifest
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

    @Test func aCollectorInTheMeshConfigReachesEveryProxyWithItsAuthorizationAndFraction() throws {
        var controller = PermissiveTests.httpbinCluster()
        var meshConfig = ClusterFixtures.permissive()
        meshConfig.observability.remoteLogging.enable = true
        meshConfig.observability.remoteLogging.address = "clickhouse.logs"
        meshConfig.observability.remoteLogging.port = 8123
        meshConfig.observability.remoteLogging.authorization = "Basic dXNlcjpwYXNz"
        meshConfig.observability.remoteLogging.sampledFraction = 0.5
        _ = controller.apply([.upsert(.meshConfig(meshConfig))])
        let config = try #require(controller.config(for: PodKey("app", "curl-1")))
        #expect(config.spec.remoteLogging == RemoteLoggingSpec(address: "clickhouse.logs:8123", endpoint: RemoteLoggingSpec.defaultEndpoint,
                                                                authorization: "Basic dXNlcjpwYXNz", sampledFraction: 0.5))
        #expect(try ProxyConfig(jsonText: config.renderedJSON()) == config)
        // Without an address the switch still writes the sidecar's own log, and ships nowhere.
        meshConfig.observability.remoteLogging.address = ""
        _ = controller.apply([.upsert(.meshConfig(meshConfig))])
        #expect(try #require(controller.config(for: PodKey("app", "curl-1"))).spec.remoteLogging == nil)
    }

    @Test func theSampledFractionIsANumberOrFSMsStringFromZeroToOne() throws {
        func decode(_ fraction: String) throws -> Double {
            let yaml = """
            apiVersion: config.flomesh.io/v1alpha3
            kind: MeshConfig
            metadata: { name: fsm-mesh-config, namespace: fsm-system }
            spec:
              observability:
                remoteLogging: { enable: true, address: c, port: 80, sampledFraction: \(fraction) }
            """
            guard case .meshConfig(let config)? = try ManifestDecoder.decode(yaml, file: "mesh.yaml").first?.resource else { return -1 }
            return config.observability.remoteLogging.sampledFraction
        }
        #expect(try decode("0.25") == 0.25)
        #expect(try decode("\"0.75\"") == 0.75)
        do {
            _ = try decode("\"2\"")
            Issue.record("a fraction of 2 was accepted")
        } catch {
            #expect("\(error)".hasPrefix("mesh.yaml:6:"), "\(error)")
            #expect("\(error)".contains("expected a number from 0 to 1"), "\(error)")
        }
    }
}
