import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

@Suite("FSM error/slow circuit breaker")
struct ErrorCircuitBreakerTests {
    func sidecar(_ configure: (inout CircuitBreaking) -> Void) -> Sidecar {
        var breaking = CircuitBreaking()
        breaking.statTimeWindow = .seconds(60)
        breaking.minRequestAmount = 200
        breaking.degradedTimeWindow = .seconds(10)
        breaking.degradedStatusCode = 503
        breaking.degradedResponseContent = "Service Unavailable!"
        configure(&breaking)
        var settings = ConnectionSettings()
        settings.http.circuitBreaking = breaking
        return Sidecar(config: Fixture.outbound(settings: settings))
    }

    /// Sends `count` requests one after another; `status(n)` is the upstream's answer to the n-th.
    func run(_ sidecar: inout Sidecar, count: Int, start: MeshInstant = .zero, latency: (Int) -> MeshDuration = { _ in .milliseconds(2) }, status: (Int) -> Int) -> [Int: Int] {
        var random = SeededGenerator(seed: 1)
        var codes: [Int: Int] = [:]
        var now = start
        for n in 0..<count {
            let id = ExchangeID(UInt64(n + 1))
            let sent = sidecar.outboundRequest(id, head: Fixture.get(), destination: Fixture.httpbinIP, now: now, random: &random)
            if let response = sent.responses.first {
                codes[response.head.status, default: 0] += 1
                #expect(response.local == .circuitOpen && response.head.body == "Service Unavailable!")
            } else {
                let done = sidecar.upstreamResponse(id, attempt: 1, head: HTTPResponseHead(status: status(n)), now: now + latency(n), random: &random)
                for response in done.responses { codes[response.head.status, default: 0] += 1 }
            }
            now = now + .milliseconds(5)
        }
        return codes
    }

    @Test func errorCountTripsOnTheHundredthError() {
        var sidecar = sidecar { $0.errorAmountThreshold = 100 }
        // Every 5th request fails, so the 100th error is request 500.
        let codes = run(&sidecar, count: 1000) { $0 % 5 == 4 ? 511 : 200 }
        #expect(codes == [200: 400, 511: 100, 503: 500])
        #expect(sidecar.stats.value("cluster.\(Fixture.httpbinCluster).upstream_rq_circuit_open") == 500)
    }

    @Test func errorRatioWaitsForMinRequestAmount() {
        var sidecar = sidecar { $0.errorRatioThreshold = 0.10 }
        // 20% errors: the ratio is above 10% from the start but only counts from 200 requests on.
        let codes = run(&sidecar, count: 300) { $0 % 5 == 4 ? 511 : 200 }
        // Request 200 (index 199) is an error: total 200, 40 errors → trips there.
        #expect(codes == [200: 160, 511: 40, 503: 100])
    }

    @Test func slowCountTrips() {
        var sidecar = sidecar {
            $0.slowTimeThreshold = .milliseconds(200)
            $0.slowAmountThreshold = 10
        }
        let codes = run(&sidecar, count: 100, latency: { $0 % 2 == 0 ? .milliseconds(250) : .milliseconds(2) }) { _ in 200 }
        // The 10th slow response is request 19 (index 18); everything after is short-circuited.
        #expect(codes == [200: 19, 503: 81])
    }

    @Test func closesAfterTheDegradedWindow() {
        var sidecar = sidecar { $0.errorAmountThreshold = 1 }
        let tripped = run(&sidecar, count: 3) { _ in 500 }
        #expect(tripped == [500: 1, 503: 2])
        // 10 s after the trip it lets traffic through again, counters fresh.
        let later = run(&sidecar, count: 2, start: seconds(11)) { _ in 200 }
        #expect(later == [200: 2])
    }

    @Test func statWindowResetsCounters() {
        var sidecar = sidecar { $0.errorAmountThreshold = 3 }
        #expect(run(&sidecar, count: 2) { _ in 500 } == [500: 2])
        // A minute later the two old errors no longer count.
        #expect(run(&sidecar, count: 2, start: seconds(61)) { _ in 500 } == [500: 2])
        #expect(run(&sidecar, count: 2, start: seconds(62)) { _ in 500 } == [500: 1, 503: 1])
    }
}
