import MeshModel
import SimCore
import Testing

@Suite struct WorldTests {
    /// Service names in their DNS forms; a bare name resolves in the client's own namespace.
    @Test func serviceNameForms() throws {
        var scenario = echoScenario()
        scenario.manifests.append(deployment("local", "demo", labels: ["app": "local"], image: "curlimages/curl"))
        let forms = ["echo.demo", "echo.demo.svc", "echo.demo.svc.cluster.local"]
        scenario.steps = forms.enumerated().map { index, host in
            Step(at: .zero, action: .load(LoadSpec(name: "form\(index)", from: "curl/curl", url: "http://\(host):8080/", requests: 5)))
        } + [
            Step(at: .zero, action: .load(LoadSpec(name: "bare-same-namespace", from: "demo/local", url: "http://echo:8080/", requests: 5))),
            Step(at: .zero, action: .load(LoadSpec(name: "bare-other-namespace", from: "curl/curl", url: "http://echo:8080/", requests: 5))),
        ]
        let result = runScenario(scenario)
        for index in forms.indices { #expect(try load(result, "form\(index)").count(status: 200) == 5) }
        #expect(try load(result, "bare-same-namespace").count(status: 200) == 5)
        #expect(try load(result, "bare-other-namespace").count(status: 0) == 5)
    }

    /// Addresses are handed out in creation order: services from 10.96.0.10, pods from 10.244.0.10.
    @Test func addressesAreDeterministic() throws {
        let simulation = Simulation(scenario: echoScenario())
        let json = try #require(simulation.proxyConfigJSON(pod: "curl/curl-0"))
        #expect(json.contains("10.96.0.10"))
        #expect(json.contains("10.244.0.10:8080"))
        #expect(json.contains("10.244.0.11:8080"))
    }

    /// Namespaces named in `mesh.namespaces` get sidecars; others do not.
    @Test func onlyMeshNamespacesAreInjected() {
        var scenario = echoScenario()
        scenario.mesh.namespaces = ["demo"]
        #expect(Simulation(scenario: scenario).meshedPods == ["demo/echo-0", "demo/echo-1"])
    }
}
