import MeshModel
import SimCore
import Testing

/// The engine's deadlines in virtual time: what the simulator shows is the engine's decision.
@Suite struct SimulationTimeoutTests {
    /// fortio answers after 70 s: the client's sidecar gives up at its route timeout (60 s by
    /// default) and answers 504; requests answered in time are not touched.
    @Test func answersSlowerThanTheRouteTimeoutBecome504AtSixtySeconds() throws {
        let scenario = Scenario(
            name: "route-timeout", seed: 11,
            mesh: MeshSettings(meshConfig: permissive(), namespaces: ["demo", "curl"]),
            manifests: [
                service("fortio", "demo", port: 8080, selector: ["app": "fortio"]),
                deployment("fortio", "demo", labels: ["app": "fortio"], image: "fortio/fortio"),
                deployment("curl", "curl", labels: ["app": "curl"], image: "curlimages/curl"),
            ],
            steps: [
                Step(at: .zero, action: .load(LoadSpec(name: "slow", from: "curl/curl", url: "http://fortio.demo:8080/echo?delay=70s", requests: 3, qps: 10, concurrency: 3))),
                Step(at: .zero, action: .load(LoadSpec(name: "quick", from: "curl/curl", url: "http://fortio.demo:8080/echo?delay=2s", requests: 3, qps: 10, concurrency: 3))),
            ])
        let result = runScenario(scenario)
        let slow = try load(result, "slow"), quick = try load(result, "quick")
        #expect(slow.count(status: 504) == 3)
        #expect(slow.latency.max >= 60_000 && slow.latency.max < 60_100)
        #expect(quick.count(status: 200) == 3)
        let client = try #require(result.proxies.first { $0.pod.hasPrefix("curl/") })
        #expect(client.counters.first { $0.name == "cluster.demo/fortio|8080.upstream_rq_timeout" }?.value == 3)
    }

    /// A partition before the first request: the handshake is lost, nothing answers, and the
    /// client's sidecar gives up at its connect timeout (5 s by default) with 503.
    @Test func aLostHandshakeEndsAtTheEnginesConnectTimeout() throws {
        var scenario = echoScenario(latency: .fixed(.microseconds(250)))
        scenario.steps = [
            Step(at: .zero, action: .fault(.partition(between: ["curl/curl", "demo/echo"], duration: .seconds(10)))),
            Step(at: .milliseconds(100), action: .load(LoadSpec(name: "main", from: "curl/curl", url: "http://echo.demo:8080/", requests: 1))),
        ]
        let result = runScenario(scenario)
        let main = try load(result, "main")
        #expect(main.count(status: 503) == 1)
        #expect(main.latency.max >= 5000 && main.latency.max < 5100)
        let client = try #require(result.proxies.first { $0.pod.hasPrefix("curl/") })
        #expect(client.counters.first { $0.name == "cluster.demo/echo|8080.upstream_cx_connect_timeout" }?.value == 1)
    }
}
