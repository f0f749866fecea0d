/// One flat JSON object written straight to UTF-8 bytes, key by key, in the order of the calls:
/// what a per-request line (an access-log entry) needs without building a `JSONValue` tree first.
/// Strings are escaped and numbers printed exactly as `JSONValue.rendered()` does, so a line
/// written either way is the same bytes.
public struct JSONObjectWriter {
    public private(set) var bytes: [UInt8] = []
    private var fields = 0

    public init(reservingCapacity capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    public mutating func field(_ key: StaticString, _ value: String?) {
        beginField(key)
        if let value { JSONValue.writeString(value, into: &bytes) } else { bytes.append(contentsOf: "null".utf8) }
    }

    public mutating func field(_ key: StaticString, _ value: Int) {
        beginField(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func field(_ key: StaticString, _ value: Double) {
        beginField(key)
        bytes.append(contentsOf: JSONValue.format(value).utf8)
    }

    /// A string value the caller has already made safe to print unquoted-inside-quotes (ASCII with
    /// no `"`, `\` or control bytes: a timestamp, an enum's raw value), written as bytes.
    public mutating func field(_ key: StaticString, asciiBytes value: some Sequence<UInt8>) {
        beginField(key)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: value)
        bytes.append(UInt8(ascii: "\""))
    }

    /// The object closed, and `suffix` (a newline for a line) after it.
    public mutating func finish(suffix: String = "") -> String {
        bytes.append(UInt8(ascii: "}"))
        bytes.append(contentsOf: suffix.utf8)
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func beginField(_ key: StaticString) {
        if fields > 0 { bytes.append(UInt8(ascii: ",")) }
        fields += 1
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: "\":".utf8)
    }
}
