import MeshModel
import SimCore
import Testing

/// A hand-made result: 10 requests, 7 OK and 3 rate-limited, split 6/4 between two versions.
func sampleResult(expectations: [SimCore.Expectation] = []) -> SimulationResult {
    let scenario = Scenario(name: "sample", description: "A hand-made result.", file: "sample.yaml", seed: 42, expectations: expectations)
    let load = LoadResult(
        name: "phase1", requests: 10,
        status: [(code: 200, count: 7), (code: 429, count: 3)],
        backends: [(deployment: "bookstore-v1", count: 6), (deployment: "bookstore-v2", count: 4)],
        latency: LatencySummary(p50: 0.9, p90: 1.2, p99: 2.0004, p999: 2.4, max: 2.4),
        buckets: [
            LoadBucket(start: .zero, status: [(code: 200, count: 4)], backends: [(deployment: "bookstore-v1", count: 4)]),
            LoadBucket(start: .seconds(1), status: [(code: 200, count: 3), (code: 429, count: 3)], backends: [(deployment: "bookstore-v1", count: 2), (deployment: "bookstore-v2", count: 4)]),
        ],
        bodies: [(text: "Hi, I am v1!", count: 4), (text: "Hi, I am v2!", count: 3)])
    return SimulationResult(
        scenario: scenario, seed: 42, virtualTime: .seconds(30), loads: [load],
        apps: [AppResult(deployment: "bookstore-v1", received: 6, counters: [AppCounter(name: "booksSold", value: 5), AppCounter(name: "restockRequests", value: 2)]),
               AppResult(deployment: "httpbin", received: 60)],
        proxies: [
            ProxyResult(pod: "bookstore/bookstore-v1-0", cpuMs: 1.23456, memoryBytes: 1_048_576, configBytes: 4096, counters: [(name: "http_requests_total", value: 4)]),
            ProxyResult(pod: "bookstore/bookstore-v1-1", cpuMs: 0.5, memoryBytes: 1_048_576, configBytes: 4096, counters: [(name: "http_requests_total", value: 2)]),
            ProxyResult(pod: "bookstore/bookstore-v10-0", cpuMs: 0.5, memoryBytes: 1_048_576, configBytes: 4096, counters: [(name: "http_requests_total", value: 100)]),
        ],
        events: [SimEvent(at: .seconds(5), kind: .fault, text: "killed pod bookstore/bookstore-v1-0")],
        eventsProcessed: 1234)
}

private func verdict(_ check: SimCore.Expectation.Check) -> ExpectationOutcome {
    let result = sampleResult(expectations: [SimCore.Expectation(check: check, text: "check")])
    return ExpectationChecker.check(result)[0]
}

@Suite struct ExpectationCheckerTests {
    @Test func statusCountsAreExact() {
        #expect(verdict(.status(load: "phase1", counts: [200: 7, 429: 3])).passed)
        #expect(verdict(.status(load: "phase1", counts: [200: 7, 429: 3])).observed == "{200: 7, 429: 3}")
        #expect(!verdict(.status(load: "phase1", counts: [200: 8, 429: 2])).passed)
        // A code the run produced but the map does not list fails the check...
        #expect(!verdict(.status(load: "phase1", counts: [200: 7])).passed)
        // ...and a listed code with 0 asserts its absence.
        #expect(verdict(.status(load: "phase1", counts: [200: 7, 429: 3, 0: 0])).passed)
        #expect(!verdict(.status(load: "phase1", counts: [200: 7, 429: 3, 503: 1])).passed)
        #expect(!verdict(.status(load: "nope", counts: [200: 7])).passed)
    }

    @Test func backendSharesWithinTolerance() {
        #expect(verdict(.backends(load: "phase1", shares: ["bookstore-v1": 0.5, "bookstore-v2": 0.5], tolerance: 0.1)).passed)
        #expect(!verdict(.backends(load: "phase1", shares: ["bookstore-v1": 0.5, "bookstore-v2": 0.5], tolerance: 0.05)).passed)
        #expect(verdict(.backends(load: "phase1", shares: ["bookstore-v1": 0.6, "bookstore-v2": 0.4], tolerance: 0)).passed)
        // An unlisted backend must stay within the tolerance of 0.
        #expect(!verdict(.backends(load: "phase1", shares: ["bookstore-v1": 0.6], tolerance: 0.1)).passed)
        #expect(verdict(.backends(load: "phase1", shares: ["bookstore-v1": 0.6], tolerance: 0.4)).passed)
        #expect(verdict(.backends(load: "phase1", shares: ["bookstore-v1": 0.5], tolerance: 0.5)).observed == "{bookstore-v1: 60.0%, bookstore-v2: 40.0%} of 10 responses")
    }

    @Test func bodySharesWithinTolerance() {
        // 4 of 7 responses with a body say v1 (57.1%), 3 say v2 (42.9%); the 3 rate-limited ones have none.
        #expect(verdict(.bodies(load: "phase1", shares: ["Hi, I am v1!": 0.5, "Hi, I am v2!": 0.5], tolerance: 0.1)).passed)
        #expect(!verdict(.bodies(load: "phase1", shares: ["Hi, I am v1!": 0.5, "Hi, I am v2!": 0.5], tolerance: 0.05)).passed)
        #expect(verdict(.bodies(load: "phase1", shares: ["Hi, I am v1!": 4.0 / 7, "Hi, I am v2!": 3.0 / 7], tolerance: 0)).passed)
        // An unlisted body must stay within the tolerance of 0.
        #expect(!verdict(.bodies(load: "phase1", shares: ["Hi, I am v1!": 0.6], tolerance: 0.1)).passed)
        #expect(!verdict(.bodies(load: "phase1", shares: ["Hi, I am v3!": 1], tolerance: 0.05)).passed)
        #expect(!verdict(.bodies(load: "nope", shares: ["Hi, I am v1!": 1], tolerance: 1)).passed)
        #expect(verdict(.bodies(load: "phase1", shares: ["Hi, I am v1!": 0.5], tolerance: 0.5)).observed
            == #"{"Hi, I am v1!": 57.1%, "Hi, I am v2!": 42.9%} of 7 responses"#)
    }

    @Test func bodiesFailWhenNoResponseHadABody() {
        var result = sampleResult(expectations: [SimCore.Expectation(check: .bodies(load: "phase1", shares: ["x": 0], tolerance: 1), text: "b")])
        result.loads[0].bodies = []
        #expect(!ExpectationChecker.check(result)[0].passed)
    }

    @Test func receivedIsExact() {
        #expect(verdict(.received(app: "httpbin", count: 60)).passed)
        #expect(!verdict(.received(app: "httpbin", count: 61)).passed)
        #expect(verdict(.received(app: "unknown", count: 0)).passed)
        #expect(verdict(.received(app: "httpbin", count: 61)).observed == "60")
    }

    @Test func appCountersCompare() {
        #expect(verdict(.appCounter(app: "bookstore-v1", name: "booksSold", comparison: .greaterThan, value: 4)).passed)
        #expect(!verdict(.appCounter(app: "bookstore-v1", name: "booksSold", comparison: .greaterThan, value: 5)).passed)
        #expect(verdict(.appCounter(app: "bookstore-v1", name: "booksSold", comparison: .equal, value: 5)).observed == "5")
        #expect(verdict(.appCounter(app: "bookstore-v1", name: "restockRequests", comparison: .lessOrEqual, value: 2)).passed)
        // A counter the model does not have, or an app that is not there, fails (even "== 0").
        let missing = verdict(.appCounter(app: "bookstore-v1", name: "booksBought", comparison: .equal, value: 0))
        #expect(!missing.passed)
        #expect(missing.observed == "bookstore-v1 has no counter booksBought (counters: booksSold, restockRequests)")
        #expect(!verdict(.appCounter(app: "nobody", name: "booksSold", comparison: .equal, value: 0)).passed)
    }

    @Test func latencyBounds() {
        let p99Under = LatencyBound(percentile: "p99", comparison: .lessThan, bound: .milliseconds(5))
        #expect(verdict(.latency(load: "phase1", bounds: [p99Under])).passed)
        let p50Over = LatencyBound(percentile: "p50", comparison: .greaterThan, bound: .milliseconds(1))
        #expect(!verdict(.latency(load: "phase1", bounds: [p99Under, p50Over])).passed)
        #expect(verdict(.latency(load: "phase1", bounds: [p99Under, p50Over])).observed == "p99 = 2.000ms, p50 = 0.900ms")
        let maxExact = LatencyBound(percentile: "max", comparison: .lessOrEqual, bound: MeshDuration(nanoseconds: 2_400_000))
        #expect(verdict(.latency(load: "phase1", bounds: [maxExact])).passed)
    }

    @Test func countersSumOverTheDeploymentsPods() {
        // bookstore-v10-0 belongs to another Deployment and must not be counted.
        #expect(verdict(.counter(proxy: "bookstore/bookstore-v1", name: "http_requests_total", comparison: .equal, value: 6)).passed)
        #expect(verdict(.counter(proxy: "bookstore/bookstore-v1", name: "http_requests_total", comparison: .equal, value: 6)).observed == "6 over 2 pods")
        #expect(verdict(.counter(proxy: "bookstore/bookstore-v1-1", name: "http_requests_total", comparison: .equal, value: 2)).passed)
        #expect(!verdict(.counter(proxy: "bookstore/bookstore-v1", name: "http_requests_total", comparison: .greaterThan, value: 6)).passed)
        #expect(verdict(.counter(proxy: "bookstore/bookstore-v1", name: "missing_counter", comparison: .equal, value: 0)).passed)
        #expect(!verdict(.counter(proxy: "bookstore/nothing", name: "http_requests_total", comparison: .greaterOrEqual, value: 0)).passed)
    }

    @Test func reportVerdictFollowsTheOutcomes() {
        let passing = Report(result: sampleResult(expectations: [SimCore.Expectation(check: .received(app: "httpbin", count: 60), text: "a")]))
        #expect(passing.passed)
        let failing = Report(result: sampleResult(expectations: [
            SimCore.Expectation(check: .received(app: "httpbin", count: 60), text: "a"),
            SimCore.Expectation(check: .received(app: "httpbin", count: 1), text: "b"),
        ]))
        #expect(!failing.passed)
        #expect(failing.outcomes.map(\.passed) == [true, false])
    }
}
