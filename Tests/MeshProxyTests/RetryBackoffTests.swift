import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

@Suite("Retry backoff and retryOn")
struct RetryBackoffTests {
    @Test func upperBoundIsExponentialThenCappedAtTenTimesBase() {
        let base = MeshDuration.milliseconds(25)
        #expect(RetryBackoff.upperBound(retry: 1, base: base) == .milliseconds(25))
        #expect(RetryBackoff.upperBound(retry: 2, base: base) == .milliseconds(75))
        #expect(RetryBackoff.upperBound(retry: 3, base: base) == .milliseconds(175))
        #expect(RetryBackoff.upperBound(retry: 4, base: base) == .milliseconds(250))
        #expect(RetryBackoff.upperBound(retry: 500, base: base) == .milliseconds(250))
        // The guide's example: base 2 ms caps at 20 ms.
        #expect(RetryBackoff.upperBound(retry: 5, base: .milliseconds(2)) == .milliseconds(20))
    }

    @Test func delaysStayWithinBoundsAndSpreadOverTheRange() {
        var random = SeededGenerator(seed: 42)
        let base = MeshDuration.milliseconds(25)
        for retry in 1...8 {
            let bound = min(base * ((1 << Int64(min(retry, 20))) - 1), base * 10)
            var largest = MeshDuration.zero
            var smallest = bound
            for _ in 0..<2000 {
                let delay = RetryBackoff.delay(retry: retry, base: base, random: &random)
                #expect(delay >= .zero && delay <= bound)
                largest = max(largest, delay)
                smallest = min(smallest, delay)
            }
            // Uniform over [0, bound]: 2000 draws reach both ends' neighbourhoods.
            #expect(largest.nanoseconds > bound.nanoseconds * 9 / 10)
            #expect(smallest.nanoseconds < bound.nanoseconds / 10)
        }
    }

    @Test func retryOnParsing() {
        let fiveXX = RetryConditions(parsing: "5xx")
        #expect(fiveXX.retries(status: 500) && fiveXX.retries(status: 503) && fiveXX.retries(status: 599))
        #expect(fiveXX.retries(status: 0) && fiveXX.onPerTryTimeout)
        #expect(!fiveXX.retries(status: 404) && !fiveXX.retries(status: 200) && !fiveXX.retries(status: 600))

        let mixed = RetryConditions(parsing: " 5xx , retriable-4xx,418")
        #expect(mixed.retries(status: 409) && mixed.retries(status: 418) && !mixed.retries(status: 404))

        let gateway = RetryConditions(parsing: "gateway-error")
        #expect(gateway.retries(status: 502) && gateway.retries(status: 504) && !gateway.retries(status: 500) && !gateway.retries(status: 0))

        let reset = RetryConditions(parsing: "reset")
        #expect(reset.retries(status: 0) && !reset.retries(status: 503) && !reset.onPerTryTimeout)

        let junk = RetryConditions(parsing: "nonsense,,9999,-1")
        #expect(junk.unrecognized == ["nonsense", "9999", "-1"])
        #expect(!junk.retries(status: 503) && !junk.retries(status: -5) && !junk.retries(status: 100_000))
    }
}
