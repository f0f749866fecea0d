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
        self.init(B3Headers(head.headers))
    }

    /// The context the B3 headers found in a request's one pass carry, if whole and well-formed.
    init?(_ found: B3Headers) {
        guard let trace = found.traceID, let span = found.spanID, let spanID = Self.hex64(span), spanID != 0 else { return nil }
        switch trace.utf8.count {
        case 16:
            guard let low = Self.hex64(trace), low != 0 else { return nil }
            self.init(traceHigh: 0, traceLow: low, wide: false, spanID: spanID)
        case 32:
            guard let high = Self.hex64(trace.prefix(16)), let low = Self.hex64(trace.suffix(16)), high | low != 0 else { return nil }
            self.init(traceHigh: high, traceLow: low, wide: true, spanID: spanID)
        default:
            return nil
        }
        parentSpanID = found.parentSpanID.flatMap { Self.hex64($0) }
        switch found.sampled {
        case "0", "false": sampled = found.flags == "1"
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

    /// 1-16 hex digits as a number. Plain lowercase or uppercase digits are read straight from
    /// the bytes; anything else goes through `UInt64(_:radix:)`, which decides as it always has.
    static func hex64(_ text: some StringProtocol) -> UInt64? {
        let utf8 = text.utf8
        guard (1...16).contains(utf8.count) else { return nil }
        var value: UInt64 = 0
        for byte in utf8 {
            guard let nibble = hexValue(of: byte) else { return UInt64(text, radix: 16) }
            value = value << 4 | UInt64(nibble)
        }
        return value
    }

    /// The value of one ASCII hex digit.
    static func hexValue(of byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// A request's B3 headers and whether it has an `x-request-id`, found in one pass over its
/// headers (the first of each name, compared case-insensitively): tracing reads them for every
/// request on the event loop, where one `header(_:)` lookup per name scanned all headers six times.
struct B3Headers {
    var traceID: String?
    var spanID: String?
    var parentSpanID: String?
    var sampled: String?
    var flags: String?
    var hasRequestID = false

    init(_ headers: [HTTPHeader]) {
        for header in headers {
            // Every name looked for starts with `x-` and has 10-17 bytes: most headers stop here.
            let name = header.name.utf8
            guard (10...17).contains(name.count), name.first! | 0x20 == UInt8(ascii: "x") else { continue }
            take(header)
        }
    }

    private mutating func take(_ header: HTTPHeader) {
        func matches(_ wanted: String) -> Bool { asciiCaseInsensitiveEquals(header.name, wanted) }
        switch header.name.utf8.count {
        case 10 where flags == nil && matches("x-b3-flags"): flags = header.value
        case 11 where spanID == nil && matches("x-b3-spanid"): spanID = header.value
        case 12:
            if traceID == nil, matches("x-b3-traceid") { traceID = header.value }
            else if sampled == nil, matches("x-b3-sampled") { sampled = header.value }
            else if !hasRequestID, matches("x-request-id") { hasRequestID = true }
        case 17 where parentSpanID == nil && matches("x-b3-parentspanid"): parentSpanID = header.value
        default: break
        }
    }
}
