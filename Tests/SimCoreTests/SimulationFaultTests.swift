import MeshModel
import SimCore
import Testing

@Suite struct SimulationFaultTests {
    /// `meshed: false`: no sidecars at all, the bare transport (a meshed server would refuse an
    /// unmeshed client at its inbound border).
    private func steadyLoad(_ faults: [Step], meshed: Bool = true) -> Scenario {
        var scenario = echoScenario(latency: .fixed(.microseconds(250)))
        scenario.manifests[1] = deployment("echo", "demo", replicas: 1, labels: ["app": "echo"], image: "flomesh/pipy-ok")
        if !meshed { scenario.mesh.namespaces = [] }
        scenario.steps = [Step(at: .zero, action: .load(LoadSpec(name: "main", from: "curl/curl", url: "http://echo.demo:8080/", duration: .seconds(6), qps: 10)))] + faults
        return scenario
    }

    @Test func errorFaultAnswersItsStatusWhileActive() throws {
        let result = runScenario(steadyLoad([Step(at: .seconds(2), action: .fault(.error(target: "demo/echo", status: 500, rate: 1, duration: .seconds(2))))]))
        let main = try load(result, "main")
        #expect(main.count(status: 500) == 20)
        #expect(main.count(status: 200) == 40)
        #expect(result.events.contains { $0.text.hasPrefix("ended: demo/echo answers 500") })
    }

    @Test func latencyFaultShowsInPercentiles() throws {
        let base = try load(runScenario(steadyLoad([])), "main")
        let slowed = try load(runScenario(steadyLoad([Step(at: .zero, action: .fault(.latency(target: "demo/echo", add: .milliseconds(20), duration: nil)))])), "main")
        // Request and response both touch the slowed pod: +40 ms per request.
        #expect(base.latency.p50 < 5)
        #expect(slowed.latency.p50 > 40 && slowed.latency.p50 < 46, "\(slowed.latency)")
    }

    @Test func partitionDropsTrafficUntilItHeals() throws {
        let result = runScenario(steadyLoad([Step(at: .seconds(2), action: .fault(.partition(between: ["curl/curl", "demo/echo"], duration: .seconds(2))))],
                                            meshed: false))
        let main = try load(result, "main")
        #expect(main.requests == 60)
        // One worker: each lost request holds it for the 1 s timeout, and the requests due
        // meanwhile go out late (latency counted from their schedule) once it heals.
        #expect(main.count(status: 0) == 2)
        #expect(main.latency.max >= 1000)
        #expect(main.buckets.last?.status.map(\.code) == [200])
    }

    @Test func packetLossFailsAboutThatShare() throws {
        var scenario = steadyLoad([], meshed: false)
        scenario.network.loss = 0.05
        let main = try load(runScenario(scenario), "main")
        // Two messages per request: about 10% of requests lose one.
        let failed = Double(main.count(status: 0)) / Double(main.requests)
        #expect(main.requests == 60)
        #expect(failed < 0.3)
    }

    @Test func badInputIsReportedNotFatal() throws {
        var scenario = echoScenario()
        scenario.steps = [
            Step(at: .zero, action: .load(LoadSpec(name: "bad-url", from: "curl/curl", url: "ftp://x", requests: 3))),
            Step(at: .zero, action: .load(LoadSpec(name: "no-client", from: "curl/nobody", url: "http://echo.demo:8080/", requests: 3))),
            Step(at: .zero, action: .load(LoadSpec(name: "no-dns", from: "curl/curl", url: "http://nowhere.demo:8080/", requests: 3))),
            Step(at: .seconds(1), action: .fault(.killPod(target: "demo/ghost", restartAfter: .seconds(1)))),
        ]
        let result = runScenario(scenario)
        #expect(try load(result, "bad-url").requests == 0)
        #expect(try load(result, "no-client").requests == 0)
        #expect(try load(result, "no-dns").count(status: 0) == 3)
        #expect(result.events.contains { $0.text.contains("no pod matches demo/ghost") })
    }
}
