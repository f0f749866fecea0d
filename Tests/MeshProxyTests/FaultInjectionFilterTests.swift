import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// The guide's F2-021: abort and delay, by percent.
@Suite("Fault injection filter")
struct FaultInjectionFilterTests {
    @Test func aCertainAbortAnswersWithItsStatusAndMessage() {
        var bench = FilterBench()
        var request = FilterRequest.get("/headers")
        let filter = HTTPFilter.faultInjection(FaultInjectionFilter(abort: .init(percent: 100, status: 404, message: nil)))
        #expect(bench.decode(filter, &request) == .localReply(HTTPResponseHead(status: 404), .faultAbort))
        let message = HTTPFilter.faultInjection(FaultInjectionFilter(abort: .init(percent: 100, status: 503, message: "injected")))
        #expect(bench.decode(message, &request) == .localReply(HTTPResponseHead(status: 503, body: "injected"), .faultAbort))
    }

    @Test func zeroPercentNeverFiresAndDrawsNothing() {
        var random = SeededGenerator(seed: 3)
        var untouched = random
        #expect(!FaultInjectionFilter.happens(0, &random))
        #expect(FaultInjectionFilter.happens(100, &random))
        #expect(random.next() == untouched.next(), "0 and 100 percent draw nothing")
    }

    @Test func aPercentFiresAboutThatOften() {
        var random = SeededGenerator(seed: 11)
        let hits = (0..<1000).filter { _ in FaultInjectionFilter.happens(30, &random) }.count
        #expect((230...370).contains(hits), "30% of 1000 draws, got \(hits)")
    }

    @Test func aDelayHoldsOnceWithinItsRangeThenTheAbortDecides() {
        var bench = FilterBench()
        let filter = HTTPFilter.faultInjection(FaultInjectionFilter(delay: .init(percent: 100, min: .milliseconds(500), max: .milliseconds(1000)),
                                                                    abort: .init(percent: 100, status: 404, message: nil)))
        for _ in 0..<20 {
            var request = FilterRequest.get("/headers")
            guard case .hold(let delay) = bench.decode(filter, &request) else {
                Issue.record("a certain delay must hold")
                return
            }
            #expect(delay >= .milliseconds(500) && delay <= .milliseconds(1000))
            #expect(request.faultDelayed)
            #expect(bench.decode(filter, &request) == .localReply(HTTPResponseHead(status: 404), .faultAbort), "after its delay only the abort decides")
        }
    }

    @Test func theGuidesPolicyCompiles() throws {
        let config = GatewayFaultInjection(delay: GatewayFaultDelay(percent: 100, rangeMin: 500, rangeMax: 1000, unit: .ms))
        let fault = try FaultInjectionFilter(compiling: config, "route r")
        #expect(fault.delay == FaultInjectionFilter.Delay(percent: 100, min: .milliseconds(500), max: .milliseconds(1000)))
        #expect(fault.abort == nil)
    }

    static let badPolicies: [(GatewayFaultInjection, String)] = [
        (GatewayFaultInjection(), "route r: expected delay or abort"),
        (GatewayFaultInjection(abort: GatewayFaultAbort(percent: 101, statusCode: 404)), "route r: abort.percent 101: expected 0-100"),
        (GatewayFaultInjection(abort: GatewayFaultAbort(percent: 50, statusCode: 42)), "route r: abort.statusCode 42: expected 200-599"),
        (GatewayFaultInjection(delay: GatewayFaultDelay(percent: 50, fixed: 1, unit: .h)), "route r: delay.unit \"h\": expected ms, s or m"),
        (GatewayFaultInjection(delay: GatewayFaultDelay(percent: 50)), "route r: delay: expected one of fixed or range"),
        (GatewayFaultInjection(delay: GatewayFaultDelay(percent: 50, rangeMin: 9, rangeMax: 3)), "route r: delay: expected 0 <= min <= max <= 1h, got 9-3ms"),
    ]

    @Test(arguments: badPolicies)
    func badPoliciesRejectTheConfig(_ config: GatewayFaultInjection, _ message: String) {
        let error = #expect(throws: ConfigRejection.self) { try FaultInjectionFilter(compiling: config, "route r") }
        #expect(error?.description == message)
    }
}
