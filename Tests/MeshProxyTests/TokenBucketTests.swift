import MeshModel
import Testing
@testable import MeshProxy

@Suite("Token bucket")
struct TokenBucketTests {
    @Test func startsFullAndEmptiesAfterCapacity() {
        var bucket = TokenBucket(capacity: 3, refill: 3, per: .seconds(60))
        let taken = (0..<10).map { _ in bucket.tryTake(now: .zero) }
        #expect(taken == [true, true, true] + Array(repeating: false, count: 7))
    }

    @Test func refillsOneTokenPerPeriodOverLimit() {
        // 3 per minute: one token every 20 s, no sooner.
        var bucket = TokenBucket(capacity: 3, refill: 3, per: .seconds(60))
        for _ in 0..<3 { #expect(take(&bucket, .zero)) }
        #expect(!take(&bucket, seconds(19)))
        #expect(!take(&bucket, MeshInstant(nanoseconds: 19_999_999_999)))
        #expect(take(&bucket, seconds(20)))
        #expect(!take(&bucket, seconds(20)))
        // Partial production is kept, not lost, across calls: 39.9 s + 0.1 s = the next token.
        #expect(!take(&bucket, MeshInstant(nanoseconds: 39_900_000_000)))
        #expect(take(&bucket, seconds(40)))
    }

    @Test func refillNeverExceedsCapacity() {
        var bucket = TokenBucket(capacity: 2, refill: 1, per: .seconds(1))
        #expect(take(&bucket, .zero))
        #expect(take(&bucket, .zero))
        let passed = (0..<5).filter { _ in bucket.tryTake(now: seconds(1000)) }.count
        #expect(passed == 2)
    }

    @Test func burstCapacityAboveLimit() {
        // 3 per minute with burst 10: ten pass at once.
        var bucket = TokenBucket(RateLimitConfig(limit: 3, period: .seconds(60), capacity: 10))
        let passed = (0..<12).filter { _ in bucket.tryTake(now: seconds(5)) }.count
        #expect(passed == 10)
    }

    @Test func hourPeriodWithoutOverflowOrDrift() {
        var bucket = TokenBucket(capacity: 1_000_000, refill: 1_000_000, per: .hours(1))
        for _ in 0..<1_000_000 { _ = bucket.tryTake(now: .zero) }
        #expect(bucket.tokens == 0)
        // 3.6 ms per token exactly: after 36 ms, exactly 10 tokens.
        bucket.refill(now: ms(36))
        #expect(bucket.tokens == 10)
        // A century later: full, not overflowed.
        bucket.refill(now: MeshInstant(nanoseconds: Int64.max / 2))
        #expect(bucket.tokens == 1_000_000)
    }

    @Test func oneConnectionPerHourIsOneUntilTheHourPasses() {
        var bucket = TokenBucket(capacity: 1, refill: 1, per: .hours(1))
        #expect(take(&bucket, .zero))
        #expect(!take(&bucket, MeshInstant(nanoseconds: 3_599_999_999_999)))
        #expect(take(&bucket, MeshInstant(nanoseconds: 3_600_000_000_000)))
    }

    @Test func clockGoingBackwardsProducesNothing() {
        var bucket = TokenBucket(capacity: 1, refill: 1, per: .seconds(10))
        #expect(take(&bucket, seconds(100)))
        #expect(!take(&bucket, seconds(50)))
        #expect(!take(&bucket, seconds(109)))
        #expect(take(&bucket, seconds(110)))
    }

    @Test func takingMoreThanThereIsOwesTheTimeToRefillTheDebt() {
        // 2048 a second, a second's worth deep: 8192 at once owes 6144, three seconds.
        var bytes = TokenBucket(capacity: 2048, refill: 2048, per: .seconds(1))
        let first = bytes.takeOwing(8192, now: .zero)
        #expect(first == .seconds(3))
        // The next taker queues behind the debt (three seconds plus its own half second).
        let second = bytes.takeOwing(1024, now: .zero)
        #expect(second == .milliseconds(3500))
        // Once paid off and refilled, a second's worth passes at once again.
        let refilled = bytes.takeOwing(2048, now: seconds(10))
        let beyond = bytes.takeOwing(1, now: seconds(10))
        #expect(refilled == .zero && beyond == MeshDuration(nanoseconds: 488_282))
    }
}

/// Outside the macro: `#expect` cannot call a mutating method itself.
private func take(_ bucket: inout TokenBucket, _ now: MeshInstant) -> Bool {
    bucket.tryTake(now: now)
}
