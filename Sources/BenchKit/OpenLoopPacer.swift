/// The send schedule of one connection under an open-loop constant rate, with coordinated-omission
/// correction (as wrk2 and fortio do): every request has an intended send time fixed in advance,
/// and its latency is measured from that time, so a slow response that delays the next sends is
/// charged to those requests too instead of silently lowering the rate.
///
/// Times are nanoseconds on any monotonic clock the caller owns (the benchmark passes NIO's
/// uptime clock, the tests a plain counter). One HTTP/1.1 connection has at most one request in
/// flight; the pacer is asked for the next step only while idle.
public struct OpenLoopPacer: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        /// Send now; `intended` is the schedule slot the request belongs to.
        case send(intended: Int64)
        /// Idle until this time, then ask again.
        case wait(until: Int64)
        /// The run's end passed: no more requests on this connection.
        case done
    }

    public struct Sample: Sendable, Equatable {
        /// From the intended send time to the response: the figure the benchmark reports.
        public var corrected: Int64
        /// From the actual send time to the response (what a closed-loop tool would report).
        public var uncorrected: Int64

        public init(corrected: Int64, uncorrected: Int64) {
            self.corrected = corrected
            self.uncorrected = uncorrected
        }
    }

    /// Nanoseconds between two requests of this connection (connections × the aggregate interval).
    public let interval: Int64
    public let end: Int64
    public private(set) var nextIntended: Int64
    public private(set) var inFlight: (intended: Int64, sentAt: Int64)?
    /// Requests whose slot passed while the previous response was still awaited (a backlog; timer
    /// jitter alone does not count).
    public private(set) var lateSends = 0
    private var lastCompletion: Int64 = .min

    /// Connection `index` of `connections` shares `ratePerSecond`: its slots are `connections`
    /// aggregate intervals apart, offset by `index` aggregate intervals, so the connections
    /// together send evenly spaced requests (no bursts of `connections` requests at once).
    public init(start: Int64, end: Int64, ratePerSecond: Double, connection index: Int, connections: Int) {
        precondition(ratePerSecond > 0 && connections > 0 && index >= 0 && index < connections)
        let aggregate = 1_000_000_000.0 / ratePerSecond
        self.interval = Int64((aggregate * Double(connections)).rounded())
        self.nextIntended = start + Int64((aggregate * Double(index)).rounded())
        self.end = end
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.interval == rhs.interval && lhs.end == rhs.end && lhs.nextIntended == rhs.nextIntended
            && lhs.inFlight?.intended == rhs.inFlight?.intended && lhs.inFlight?.sentAt == rhs.inFlight?.sentAt
            && lhs.lateSends == rhs.lateSends && lhs.lastCompletion == rhs.lastCompletion
    }

    public mutating func next(now: Int64) -> Step {
        precondition(inFlight == nil, "ask for the next step only while no request is in flight")
        guard nextIntended < end else { return .done }
        guard now >= nextIntended else { return .wait(until: nextIntended) }
        let intended = nextIntended
        nextIntended += interval
        if lastCompletion > intended { lateSends += 1 }
        inFlight = (intended, now)
        return .send(intended: intended)
    }

    /// The response to the request in flight arrived at `now`.
    public mutating func completed(now: Int64) -> Sample {
        guard let request = inFlight else { preconditionFailure("no request in flight") }
        inFlight = nil
        lastCompletion = now
        return Sample(corrected: now - request.intended, uncorrected: now - request.sentAt)
    }

    /// The request in flight failed (connection lost): its slot is spent, nothing is recorded.
    public mutating func failed(now: Int64) {
        inFlight = nil
        lastCompletion = now
    }
}
