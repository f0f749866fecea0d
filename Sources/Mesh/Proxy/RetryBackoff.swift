import MeshModel

/// Envoy's exponential backoff as the guide describes it: before retry N (1-based) wait a uniformly
/// random time in [0, (2^N − 1)·base], never more than 10·base.
public enum RetryBackoff {
    public static let defaultBase = MeshDuration.milliseconds(25)

    public static func upperBound(retry: Int, base: MeshDuration) -> MeshDuration {
        let b = max(0, base.nanoseconds)
        let (tenfold, capOverflow) = b.multipliedReportingOverflow(by: 10)
        let cap = capOverflow ? Int64.max : tenfold
        let n = max(1, retry)
        // 2^4 − 1 = 15 > 10 already: anything from N = 4 on is the cap.
        guard n < 4 else { return MeshDuration(nanoseconds: cap) }
        let factor = (Int64(1) << Int64(n)) - 1
        return MeshDuration(nanoseconds: min(b * factor, cap))
    }

    public static func delay(retry: Int, base: MeshDuration, random: inout some RandomNumberGenerator) -> MeshDuration {
        let upper = upperBound(retry: retry, base: base).nanoseconds
        guard upper > 0 else { return .zero }
        return MeshDuration(nanoseconds: Int64(random.next(upperBound: UInt64(upper) + 1)))
    }
}

/// The parsed `retryOn` list: which outcomes of an attempt are worth another try.
public struct RetryConditions: Hashable, Sendable {
    /// Bit per status code 0..<640.
    private var statusBits = [UInt64](repeating: 0, count: 10)
    /// Connection reset or closed with a request in progress (an attempt that ended with no status).
    public private(set) var onReset = false
    /// The attempt's connection could not be opened (refused, connect timeout): the request never
    /// reached the upstream, so retrying it is safe even for requests that are not idempotent.
    public private(set) var onConnectFailure = false
    public private(set) var onPerTryTimeout = false
    /// Tokens that name no known condition; kept so tools can report them.
    public private(set) var unrecognized: [String] = []

    /// `5xx` (500-599, resets and connect failures, per-try timeouts), `gateway-error` (502-504,
    /// per-try timeouts), `4xx`, `Nxx` classes, `retriable-4xx` (409), `reset` and
    /// `refused-stream` (any attempt that ended with no response, connect failures included),
    /// `connect-failure` (only attempts whose connection could not be opened, as Envoy), and
    /// single codes; comma separated, case-insensitive.
    public init(parsing retryOn: String) {
        for rawToken in retryOn.split(separator: ",") {
            let token = rawToken.filter { $0 != " " }.lowercased()
            guard !token.isEmpty else { continue }
            switch token {
            case "5xx":
                setRange(500...599)
                onReset = true
                onConnectFailure = true
                onPerTryTimeout = true
            case "gateway-error":
                setRange(502...504)
                onPerTryTimeout = true
            case "retriable-4xx":
                setRange(409...409)
            case "reset", "refused-stream":
                onReset = true
                onConnectFailure = true
            case "connect-failure":
                onConnectFailure = true
            default:
                if token.count == 3, token.hasSuffix("xx"), let digit = token.first?.wholeNumberValue, (1...5).contains(digit) {
                    setRange((digit * 100)...(digit * 100 + 99))
                } else if let code = Int(token), (100...599).contains(code) {
                    setRange(code...code)
                } else {
                    unrecognized.append(token)
                }
            }
        }
    }

    /// Whether an attempt that ended with `status` (0: no response) may be retried.
    public func retries(status: Int, connectFailed: Bool = false) -> Bool {
        if status == 0 { return connectFailed ? onConnectFailure : onReset }
        guard status > 0, status < 640 else { return false }
        return statusBits[status >> 6] & (1 << UInt64(status & 63)) != 0
    }

    private mutating func setRange(_ range: ClosedRange<Int>) {
        for code in range { statusBits[code >> 6] |= 1 << UInt64(code & 63) }
    }
}
