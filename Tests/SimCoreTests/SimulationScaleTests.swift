import MeshModel
import SimCore
import Testing

@Suite struct SimulationScaleTests {
    /// 60 s at 1000 req/s through two sidecars: every request completes, on schedule.
    @Test func sixtyThousandRequests() throws {
        var scenario = echoScenario()
        scenario.steps = [Step(at: .zero, action: .load(LoadSpec(name: "main", from: "curl/curl", url: "http://echo.demo:8080/", duration: .seconds(60), qps: 1000, concurrency: 8)))]
        let clock = ContinuousClock()
        var result: SimulationResult?
        let elapsed = clock.measure { result = runScenario(scenario) }
        let main = try load(try #require(result), "main")
        print("60k requests: \(elapsed), \(result!.eventsProcessed) events")
        #expect(main.requests == 60_000)
        #expect(main.count(status: 200) == 60_000)
        #expect(main.buckets.count == 60 || main.buckets.count == 61)
    }
}
