import MeshModel
import SimCore
import Testing

/// Response bodies as loads record them (`LoadResult.bodies`).
@Suite struct SimulationBodyTests {
    /// A pipy one-liner Deployment as the canary demo writes it (demos.md 2.1), with no `apps:` entry.
    private func pipyScenario(message: String, meshed: Bool = true) -> Scenario {
        let labels = ["app": "pipy"]
        let script = "pipy()\n.listen(8080)\n.serveHTTP(new Message('\(message)'))\n"
        let pipy = Resource.workload(Workload(
            metadata: ObjectMeta(name: "httpbin-v1", namespace: "httpbin"), replicas: 1, selector: labels,
            template: PodTemplate(metadata: ObjectMeta(name: "", labels: labels),
                                  spec: PodSpec(containers: [Container(name: "pipy", image: "flomesh/pipy:latest", command: ["pipy", "-e", script])]))))
        return Scenario(
            name: "pipy", seed: 3,
            mesh: MeshSettings(meshConfig: permissive(), namespaces: meshed ? ["httpbin", "curl"] : []),
            manifests: [service("httpbin", "httpbin", port: 8080, selector: labels), pipy,
                        deployment("curl", "curl", labels: ["app": "curl"], image: "curlimages/curl")],
            steps: [Step(at: .zero, action: .load(LoadSpec(name: "main", from: "curl/curl", url: "http://httpbin.httpbin:8080/", requests: 20, concurrency: 2)))])
    }

    @Test func echoBodiesAreCountedPerLoad() throws {
        let main = try load(runScenario(echoScenario(requests: 100)), "main")
        #expect(main.bodies.map(\.text) == ["hi"])
        #expect(main.count(body: "hi") == 100)
    }

    @Test func thePipyOneLinersMessageIsTheBodyTrimmed() throws {
        // The demo's message ends in `\n`: the reports show it without.
        for meshed in [true, false] {
            let main = try load(runScenario(pipyScenario(message: #"Hi, I am v1!\n"#, meshed: meshed)), "main")
            #expect(main.count(status: 200) == 20)
            #expect(main.bodies.map(\.text) == ["Hi, I am v1!"], "meshed: \(meshed)")
            #expect(main.count(body: "Hi, I am v1!") == 20)
        }
    }

    @Test func longBodiesAreCutAtEightyCharacters() throws {
        let long = String(repeating: "abcdefghij", count: 12)
        var scenario = echoScenario(requests: 10)
        scenario.apps["echo"]?.body = "  " + long + "\n"
        let main = try load(runScenario(scenario), "main")
        #expect(main.bodies.map(\.text) == [String(long.prefix(80))])
    }

    @Test func injectedErrorsAndFailuresCarryNoBody() throws {
        var scenario = echoScenario(latency: .fixed(.microseconds(250)))
        scenario.steps = [
            Step(at: .zero, action: .load(LoadSpec(name: "main", from: "curl/curl", url: "http://echo.demo:8080/", duration: .seconds(6), qps: 10))),
            Step(at: .seconds(2), action: .fault(.error(target: "demo/echo", status: 500, rate: 1, duration: .seconds(2)))),
        ]
        let main = try load(runScenario(scenario), "main")
        #expect(main.count(status: 500) == 20)
        #expect(main.count(body: "hi") == main.count(status: 200))
        #expect(main.count(body: "hi") == 40)
    }

    @Test func modelsWithoutAKnownBodyRecordNone() throws {
        var scenario = echoScenario(requests: 10)
        scenario.apps["echo"] = AppSpec(model: .httpbin)
        scenario.steps = [Step(at: .zero, action: .load(LoadSpec(name: "main", from: "curl/curl", url: "http://echo.demo:8080/get", requests: 10)))]
        let main = try load(runScenario(scenario), "main")
        #expect(main.count(status: 200) == 10)
        #expect(main.bodies.isEmpty)
    }
}
