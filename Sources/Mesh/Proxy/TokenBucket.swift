import MeshModel

/// A token bucket that refills continuously at `refill` tokens per `period`, computed lazily from
/// the instants it is given. Integer arithmetic only: production is tracked as token·nanoseconds
/// with an exact remainder, so it never drifts, and an elapsed time long enough to overflow simply
/// means the bucket is full again. It starts full.
public struct TokenBucket: Hashable, Sendable {
    public let capacity: Int64
    public let refill: Int64
    /// Nanoseconds.
    public let period: Int64
    public private(set) var tokens: Int64
    /// The instant production was last accounted for; nil while full since creation.
    private var anchor: Int64?
    /// Production not yet worth a whole token, in token·ns units (< period).
    private var carry: Int64 = 0

    public init(capacity: Int, refill: Int, per period: MeshDuration) {
        self.capacity = Int64(max(0, capacity))
        self.refill = Int64(max(0, refill))
        self.period = max(1, period.nanoseconds)
        self.tokens = self.capacity
    }

    public init(_ config: RateLimitConfig) {
        self.init(capacity: config.capacity, refill: config.limit, per: config.period)
    }

    /// Adds the tokens produced since the last call.
    public mutating func refill(now: MeshInstant) {
        let t = now.nanoseconds
        guard tokens < capacity else {
            // Production while full is lost: restart accounting from now.
            anchor = t
            carry = 0
            return
        }
        guard let start = anchor else {
            anchor = t
            return
        }
        let elapsed = t - start
        // A clock that goes backwards produces nothing and does not move the anchor back.
        guard elapsed > 0 else { return }
        anchor = t
        guard refill > 0 else { return }
        let (produced, overflowA) = elapsed.multipliedReportingOverflow(by: refill)
        let (units, overflowB) = produced.addingReportingOverflow(carry)
        if overflowA || overflowB {
            tokens = capacity
            carry = 0
            return
        }
        let whole = units / period
        carry = units % period
        if whole >= capacity - tokens {
            tokens = capacity
            carry = 0
        } else {
            tokens += whole
        }
    }

    /// Takes one token if there is one.
    public mutating func tryTake(now: MeshInstant) -> Bool {
        refill(now: now)
        guard tokens > 0 else { return false }
        tokens -= 1
        return true
    }

    /// Takes `count` tokens, into debt when fewer are there (a byte-rate pacer's use: one token a
    /// byte): returns how long until the debt is paid off, zero when the tokens were there. Later
    /// takers queue behind the debt. A bucket that never refills owes nothing (it paces nothing).
    public mutating func takeOwing(_ count: Int, now: MeshInstant) -> MeshDuration {
        refill(now: now)
        tokens -= Int64(max(0, count))
        guard tokens < 0, refill > 0 else { return .zero }
        let (owed, overflow) = (-tokens).multipliedReportingOverflow(by: period)
        guard !overflow else { return MeshDuration(nanoseconds: .max) }
        let units = owed - carry
        return MeshDuration(nanoseconds: (units + refill - 1) / refill)
    }

    /// True when both buckets enforce the same limit (state aside).
    func hasSameLimit(as other: TokenBucket) -> Bool {
        capacity == other.capacity && refill == other.refill && period == other.period
    }
}
