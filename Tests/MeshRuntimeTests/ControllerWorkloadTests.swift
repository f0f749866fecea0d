import MeshModel
import MeshRuntime
import Testing

/// The controller stamps each pod's workload on the config it serves (`Spec.Workload`), so a
/// sidecar started with nothing but `--controller --pod` labels its metrics with it.
/// Addresses: 127.78.31.x (ControlledMesh).
@Suite(.timeLimit(.minutes(1)))
struct ControllerWorkloadTests {
    @Test func eachPodsConfigCarriesItsOwnWorkload() async throws {
        try await ControlledMesh.run(subnet: 31, files: ControllerServerTests.smiFiles, sidecars: false) { mesh in
            let client = try ProxyConfig(jsonText: try await mesh.api("/v1/configs/demo/client-0").body)
            #expect(client.spec.workload == ProxyWorkload(namespace: "demo", kind: "Deployment", name: "client", pod: "client-0"))
            let echo = try ProxyConfig(jsonText: try await mesh.api("/v1/configs/demo/echo-0").body)
            #expect(echo.spec.workload == ProxyWorkload(namespace: "demo", kind: "Deployment", name: "echo", pod: "echo-0"))
        }
    }
}
