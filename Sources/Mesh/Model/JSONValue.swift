/// A JSON value with ordered object keys and a deterministic writer.
///
/// Proxy configurations and simulator reports must be byte-identical for identical inputs, so
/// objects keep the order in which their builder inserted keys and numbers print the same way on
/// every platform.
public indirect enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.double(let x), .double(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(rendered())
    }

    public static func int(_ value: Int) -> JSONValue { .int(Int64(value)) }

    /// Looks a key up in an object (linear: objects here are small).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first(where: { $0.0 == key })?.1
    }

    /// Compact (`pretty == false`) or two-space indented text.
    public func rendered(pretty: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, pretty: pretty, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    // Written as UTF-8 bytes: appending bytes is several times faster than growing a String, and
    // the configurations of large meshes run to megabytes.
    func write(into out: inout [UInt8], pretty: Bool, indent: Int) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d): out.append(contentsOf: JSONValue.format(d).utf8)
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let items):
            if items.isEmpty { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { JSONValue.newline(into: &out, indent: indent + 2) }
                item.write(into: &out, pretty: pretty, indent: indent + 2)
            }
            if pretty { JSONValue.newline(into: &out, indent: indent) }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            if pairs.isEmpty { out.append(contentsOf: "{}".utf8); return }
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { JSONValue.newline(into: &out, indent: indent + 2) }
                JSONValue.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(UInt8(ascii: " ")) }
                value.write(into: &out, pretty: pretty, indent: indent + 2)
            }
            if pretty { JSONValue.newline(into: &out, indent: indent) }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// `rendered().utf8.count` (compact) without building the text.
    public var renderedByteCount: Int {
        switch self {
        case .null: return 4
        case .bool(let b): return b ? 4 : 5
        case .int(let i): return JSONValue.decimalLength(i)
        case .double(let d): return JSONValue.format(d).utf8.count
        case .string(let s): return JSONValue.quotedByteCount(s)
        case .array(let items):
            guard !items.isEmpty else { return 2 }
            var count = 2 + items.count - 1
            for item in items { count += item.renderedByteCount }
            return count
        case .object(let pairs):
            guard !pairs.isEmpty else { return 2 }
            var count = 2 + pairs.count - 1
            for (key, item) in pairs { count += JSONValue.quotedByteCount(key) + 1 + item.renderedByteCount }
            return count
        }
    }

    private static func decimalLength(_ value: Int64) -> Int {
        var count = value < 0 ? 2 : 1
        var rest = value.magnitude / 10
        while rest > 0 { count += 1; rest /= 10 }
        return count
    }

    /// A JSON string literal's length: quotes, two-byte escapes, `\u00XX` for other control characters.
    static func quotedByteCount(_ s: String) -> Int {
        var count = 2
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): count += 2
            case 0..<0x20: count += 6
            default: count += 1
            }
        }
        return count
    }

    private static func newline(into out: inout [UInt8], indent: Int) {
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent))
    }

    /// Up to six decimals, no trailing zeros, no exponent: stable across platforms. Whole numbers
    /// print as integers up to 9e18; beyond that, and for fractions of 1e9 or more, Swift's
    /// shortest round-trip form (platform-independent too) avoids overflowing Int64.
    public static func format(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 9e18 { return String(Int64(d)) }
        // From about 9.2e12 on, `d * 1e6` would overflow Int64 below (found by fuzz-config-json:
        // 88888888888888.8 in a config stopped the process that wrote it); from 2^53 / 1e6 (about
        // 9e9) on, it is no longer exact.
        if abs(d) >= 1e9 { return d.description }
        let scaled = (d * 1_000_000).rounded()
        let negative = scaled < 0
        let magnitude = Int64(abs(scaled))
        var frac = magnitude % 1_000_000
        let whole = magnitude / 1_000_000
        var digits = 6
        while frac % 10 == 0 && digits > 0 { frac /= 10; digits -= 1 }
        var fracText = String(frac)
        while fracText.count < digits { fracText = "0" + fracText }
        return (negative ? "-" : "") + String(whole) + (digits > 0 ? "." + fracText : "")
    }

    package static func writeString(_ s: String, into out: inout String) {
        var bytes: [UInt8] = []
        writeString(s, into: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// A JSON string literal: only ASCII needs escaping; other UTF-8 bytes pass through unchanged.
    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (names, addresses, regexes) need no escape: copied in one piece.
        var text = s
        let copied = text.withUTF8 { bytes in
            guard !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            out.append(contentsOf: bytes)
            return true
        }
        if !copied { writeEscaped(text, into: &out) }
        out.append(UInt8(ascii: "\""))
    }

    private static func writeEscaped(_ s: String, into out: inout [UInt8]) {
        let hexDigits: StaticString = "0123456789abcdef"
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(byte)
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
            case UInt8(ascii: "\n"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                hexDigits.withUTF8Buffer { digits in
                    out.append(digits[Int(byte >> 4)])
                    out.append(digits[Int(byte & 0xF)])
                }
            default: out.append(byte)
            }
        }
    }
}
