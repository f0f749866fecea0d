import MeshKube
import MeshTesting
import Testing

@Suite struct ReconnectBackoffTests {
    @Test func delaysDoubleUpToTheMaximumWithoutJitter() {
        var backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(1), factor: 2, jitter: 0)
        var random = SeededGenerator(seed: 1)
        let delays = (0..<6).map { _ in backoff.nextDelay(using: &random) }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)])
        #expect(backoff.failures == 6)
    }

    @Test func jitterAddsUpToTheJitterShareOfTheDelay() {
        var random = SeededGenerator(seed: 7)
        var seen = Set<Duration>()
        for attempt in 0..<200 {
            var backoff = ReconnectBackoff(initial: .milliseconds(800), maximum: .seconds(30), factor: 2, jitter: 1)
            for _ in 0..<(attempt % 4) { _ = backoff.nextDelay(using: &random) }
            let base = Duration.milliseconds(800 * (1 << (attempt % 4)))
            let delay = backoff.nextDelay(using: &random)
            #expect(delay >= base && delay < base * 2)
            seen.insert(delay)
        }
        // Many clients do not all pick the same delay.
        #expect(seen.count > 150)
    }

    @Test func theSameSeedGivesTheSameDelays() {
        func run() -> [Duration] {
            var backoff = ReconnectBackoff()
            var random = SeededGenerator(seed: 42)
            return (0..<5).map { _ in backoff.nextDelay(using: &random) }
        }
        #expect(run() == run())
    }

    @Test func aSuccessStartsOverAtTheInitialDelay() {
        var backoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .seconds(5), jitter: 0)
        var random = SeededGenerator(seed: 3)
        _ = backoff.nextDelay(using: &random)
        _ = backoff.nextDelay(using: &random)
        backoff.reset()
        #expect(backoff.failures == 0)
        #expect(backoff.nextDelay(using: &random) == .milliseconds(50))
    }

    @Test func outOfRangeSettingsAreClamped() {
        let backoff = ReconnectBackoff(initial: .milliseconds(10), maximum: .seconds(1), factor: 0.5, jitter: 3)
        #expect(backoff.factor == 1)
        #expect(backoff.jitter == 1)
    }
}
