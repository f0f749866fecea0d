import MeshModel
import MeshRuntime
import Testing

/// The controller stamps each pod's workload on the config it serves (`Spec.Workload`), so a
/// sidecar started with nothing but `--controller --pod` labels its metrics with it.
/// Addresses: a test address block each (ControlledMesh).
@Suite(.timeLimit(.minutes(1)))
struct ControllerWorkloadTests {
    @Test func eachPodsConfigCarriesItsOwnWorkload() async throws {
        try await ControlledMesh.run(files: ControllerServerTests.smiFiles, sidecars: false) { mesh in
            let client = try ProxyConfig(jsonText: try await mesh.api("/v1/configs/demo/client-0").body)
            #expect(client.spec.workload == ProxyWorkload(namespace: "demo", kind: "Deployment", name: "client", pod: "client-0"))
            let echo = try ProxyConfig(jsonText: try await mesh.api("/v1/configs/demo/echo-0").body)
            #expect(echo.spec.workload == ProxyWorkload(namespace: "demo", kind: "Deployment", name: "echo", pod: "echo-0"))
        }
    }

    /// The guides' control-plane metrics, scraped after two sidecars fetched their configs.
    @Test func theControllerExportsTheGuidesControlPlaneMetrics() async throws {
        try await ControlledMesh.run(files: ControllerServerTests.smiFiles) { mesh in
            #expect(await eventually(within: 5) { await mesh.call() == 200 })
            let samples = try parsePrometheus(try await mesh.api("/metrics").body)
            for (line, name) in GuideQueries.controllerFamilies {
                #expect(samples.contains { $0.name == name }, "fsm-guides.txt:\(line): no \(name)")
            }
            let requests = samples.filter { $0.name == "fsm_proxy_xds_request_count" && $0.labels["identity"] == "client.demo.cluster.local" }
            #expect(requests.first?.labels["proxy_uuid"] == "demo/client-0" && requests.first?.labels["type"] == "config")
            #expect((requests.first?.value ?? 0) >= 1)
            #expect(samples.contains { $0.name == "fsm_proxy_response_send_success_count" && $0.labels["identity"] == "echo.demo.cluster.local" && $0.value >= 1 })
            #expect(samples.contains { $0.name == "fsm_k8s_api_event_count" && $0.labels["type"] == "PodUpdated" && $0.labels["namespace"] == "demo" && $0.value >= 2 })
            #expect(samples.contains { $0.name == "fsm_http_response_total" && $0.labels["path"] == "/v1/configs/{namespace}/{pod}" && $0.labels["code"] == "200" })
            #expect(samples.first { $0.name == "fsm_feature_flag_enabled" && $0.labels["feature_flag"] == "enableRetryPolicy" }?.value == 0)
            // Both sidecars hold a long poll once they have their configs.
            #expect(await eventually(within: 5) {
                let now = (try? parsePrometheus(try await mesh.api("/metrics").body)) ?? []
                return now.first { $0.name == "fsm_proxy_connect_count" }?.value == 2
            })
        }
    }
}
