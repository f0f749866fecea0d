/// A request's place in a trace as B3 headers carry it (Zipkin's propagation, which FSM's Pipy
/// sidecar speaks and the guides ask apps to forward): `x-b3-traceid` (16 or 32 hex digits),
/// `x-b3-spanid` (16), `x-b3-parentspanid`, `x-b3-sampled` (`1`/`0`, or `true`/`false`) and
/// `x-b3-flags: 1` (debug: sampled). Malformed ids count as no context: a new trace starts.
public struct B3Context: Hashable, Sendable {
    /// 128-bit trace id; `high` is 0 for a 64-bit one (rendered as 16 digits when `wide` is false).
    public var traceHigh: UInt64
    public var traceLow: UInt64
    public var wide: Bool
    public var spanID: UInt64
    public var parentSpanID: UInt64?
    public var sampled: Bool

    public init(traceHigh: UInt64, traceLow: UInt64, wide: Bool = true, spanID: UInt64, parentSpanID: UInt64? = nil, sampled: Bool = true) {
        self.traceHigh = traceHigh
        self.traceLow = traceLow
        self.wide = wide
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.sampled = sampled
    }

    public static let headerNames = ["x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags"]
    /// What an app forwards so that its own calls join a request's trace (guides 4.2): the B3
    /// headers and `x-request-id`, lowercase.
    public static let propagatedHeaders = Set(headerNames + ["x-request-id"])

    /// The context a request arrives with, if its B3 headers are whole and well-formed.
    public init?(_ head: HTTPRequestHead) {
        guard let trace = head.header("x-b3-traceid"), let span = head.header("x-b3-spanid"),
              let spanID = Self.hex64(span), spanID != 0 else { return nil }
        switch trace.utf8.count {
        case 16:
            guard let low = Self.hex64(trace), low != 0 else { return nil }
            self.init(traceHigh: 0, traceLow: low, wide: false, spanID: spanID)
        case 32:
            guard let high = Self.hex64(String(trace.prefix(16))), let low = Self.hex64(String(trace.suffix(16))), high | low != 0 else { return nil }
            self.init(traceHigh: high, traceLow: low, wide: true, spanID: spanID)
        default:
            return nil
        }
        parentSpanID = head.header("x-b3-parentspanid").flatMap(Self.hex64)
        let flags = head.header("x-b3-flags")
        switch head.header("x-b3-sampled") {
        case "0", "false": sampled = flags == "1"
        default: sampled = true
        }
    }

    /// A new trace: random 128-bit id, a root span, sampled with probability `fraction`.
    public static func root(sampledFraction fraction: Double, random: inout some RandomNumberGenerator) -> B3Context {
        let sampled = fraction >= 1 || (fraction > 0 && Double(random.next() >> 11) / Double(1 << 53) < fraction)
        return B3Context(traceHigh: random.next() | 1, traceLow: random.next() | 1, spanID: random.next() | 1, sampled: sampled)
    }

    /// The next hop's span: a new id whose parent is this one.
    public func child(random: inout some RandomNumberGenerator) -> B3Context {
        var child = self
        child.parentSpanID = spanID
        child.spanID = random.next() | 1
        return child
    }

    public var traceID: String { wide ? Self.hex(traceHigh, traceLow) : Self.hex(traceLow) }

    /// The headers that carry this context to the next hop (they replace any the request had).
    public var headers: [HTTPHeader] {
        var headers = [HTTPHeader(name: "x-b3-traceid", value: traceID), HTTPHeader(name: "x-b3-spanid", value: Self.hex(spanID))]
        if let parentSpanID { headers.append(HTTPHeader(name: "x-b3-parentspanid", value: Self.hex(parentSpanID))) }
        headers.append(HTTPHeader(name: "x-b3-sampled", value: sampled ? "1" : "0"))
        return headers
    }

    /// 16 lowercase hex digits.
    public static func hex(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { buffer in
            writeHex(value, into: buffer, at: 0)
            return 16
        }
    }

    /// 32 lowercase hex digits: `high`'s 16, then `low`'s.
    static func hex(_ high: UInt64, _ low: UInt64) -> String {
        String(unsafeUninitializedCapacity: 32) { buffer in
            writeHex(high, into: buffer, at: 0)
            writeHex(low, into: buffer, at: 16)
            return 32
        }
    }

    /// Writes `value`'s 16 lowercase hex digits at `offset` (a request's ids are written per
    /// request: straight into the string's storage, without formatting through `String(_:radix:)`).
    static func writeHex(_ value: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        for index in 0..<16 {
            buffer[offset + index] = hexDigit(of: value, at: index)
        }
    }

    /// The ASCII hex digit `index` (0 the most significant) of `value`.
    static func hexDigit(of value: UInt64, at index: Int) -> UInt8 {
        let nibble = UInt8(truncatingIfNeeded: value >> UInt64(60 - 4 * index)) & 0xf
        return nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    static func hex64(_ text: String) -> UInt64? {
        guard (1...16).contains(text.utf8.count) else { return nil }
        return UInt64(text, radix: 16)
    }
}
