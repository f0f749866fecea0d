import MeshModel
import SimCore
import Testing

// MARK: - Scenario building blocks

func meshNamespace(_ name: String) -> Resource { .namespace(Namespace(metadata: ObjectMeta(name: name))) }

func service(_ name: String, _ namespace: String, port: Int, selector: [String: String], appProtocol: AppProtocol = .http, extraPorts: [ServicePort] = []) -> Resource {
    .service(Service(metadata: ObjectMeta(name: name, namespace: namespace),
                     ports: [ServicePort(name: "p\(port)", port: port, appProtocol: appProtocol)] + extraPorts, selector: selector))
}

func deployment(_ name: String, _ namespace: String, replicas: Int = 1, labels: [String: String], image: String, serviceAccount: String = "default") -> Resource {
    .workload(Workload(metadata: ObjectMeta(name: name, namespace: namespace), replicas: replicas, selector: labels,
                       template: PodTemplate(metadata: ObjectMeta(name: "", labels: labels),
                                             spec: PodSpec(serviceAccountName: serviceAccount, containers: [Container(name: name, image: image)]))))
}

func permissive() -> MeshConfig {
    var config = MeshConfig()
    config.traffic.enablePermissiveTrafficPolicyMode = true
    return config
}

/// curl in `curl`, echo (two replicas) in `demo`, all meshed, permissive.
func echoScenario(requests: Int = 1000, seed: UInt64 = 7, latency: LatencySpec = .distribution(p50: .microseconds(250), p99: .milliseconds(2))) -> Scenario {
    Scenario(
        name: "echo", seed: seed,
        mesh: MeshSettings(meshConfig: permissive(), namespaces: ["demo", "curl"]),
        network: NetworkSettings(latency: latency),
        manifests: [
            service("echo", "demo", port: 8080, selector: ["app": "echo"]),
            deployment("echo", "demo", replicas: 2, labels: ["app": "echo"], image: "flomesh/pipy-ok:latest"),
            deployment("curl", "curl", labels: ["app": "curl"], image: "curlimages/curl"),
        ],
        apps: ["echo": AppSpec(model: .echo, body: "hi", serviceTime: .milliseconds(1))],
        steps: [Step(at: .zero, action: .load(LoadSpec(name: "main", from: "curl/curl", url: "http://echo.demo:8080/", requests: requests, concurrency: 4)))])
}

func runScenario(_ scenario: Scenario, seed: UInt64? = nil) -> SimulationResult {
    var simulation = Simulation(scenario: scenario, seed: seed)
    return simulation.run()
}

func load(_ result: SimulationResult, _ name: String) throws -> LoadResult {
    try #require(result.loads.first(where: { $0.name == name }))
}

// MARK: - Tests

@Suite struct SimulationTests {
    @Test func echoWithTwoReplicasSharesTraffic() throws {
        let result = runScenario(echoScenario())
        let main = try load(result, "main")
        #expect(main.requests == 1000)
        #expect(main.count(status: 200) == 1000)
        let share = Double(main.count(backend: "echo")) / 1000
        #expect(share == 1)
        // Both pods served: the pods of one deployment share by round robin.
        let received = result.apps.first(where: { $0.deployment == "echo" })?.received
        #expect(received == 1000)
        #expect(main.latency.p50 > 1 && main.latency.p50 < 10)
        #expect(result.proxies.map(\.pod).contains("demo/echo-1"))
        let perPod = result.proxies.filter { $0.pod.hasPrefix("demo/echo-") }.map { $0.counters.first(where: { $0.name.contains("inbound") })?.value ?? 0 }
        #expect(perPod.count == 2)
    }

    @Test func meshedPodsAndConfigDump() throws {
        let simulation = Simulation(scenario: echoScenario())
        #expect(simulation.meshedPods == ["curl/curl-0", "demo/echo-0", "demo/echo-1"])
        let json = try #require(simulation.proxyConfigJSON(pod: "curl/curl-0"))
        #expect(json.contains("echo.demo"))
        #expect(simulation.proxyConfigJSON(pod: "demo/nope-0") == nil)
    }

    @Test func sameSeedGivesIdenticalResults() throws {
        let scenario = echoScenario(requests: 300)
        let a = runScenario(scenario), b = runScenario(scenario)
        #expect(describe(a) == describe(b))
        let c = runScenario(scenario, seed: 99)
        #expect(c.seed == 99)
        #expect(describe(a) != describe(c))
    }
}

/// Every observed value of a result as text, to compare runs.
func describe(_ result: SimulationResult) -> String {
    var lines: [String] = ["t=\(result.virtualTime) events=\(result.eventsProcessed)"]
    for load in result.loads {
        lines.append("\(load.name) \(load.requests) \(load.status.map { "\($0.code):\($0.count)" }) \(load.backends.map { "\($0.deployment):\($0.count)" }) \(load.latency)")
        lines.append("\(load.buckets.map { "\($0.start) \($0.status.map { "\($0.code):\($0.count)" }) \($0.backends.map { "\($0.deployment):\($0.count)" })" })")
    }
    lines += result.apps.map { "\($0)" }
    lines += result.proxies.map { "\($0.pod) \($0.cpuMs) \($0.memoryBytes) \($0.configBytes) \($0.counters.map { "\($0.name)=\($0.value)" })" }
    lines += result.events.map { "\($0.at) \($0.text)" }
    return lines.joined(separator: "\n")
}
