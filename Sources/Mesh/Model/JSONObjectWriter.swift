/// One JSON object written straight to UTF-8 bytes, key by key, in the order of the calls (objects
/// nest with `beginObject`/`endObject`): what a per-request line (an access-log entry, a span)
/// needs without building a `JSONValue` tree first.
/// Strings are escaped and numbers printed exactly as `JSONValue.rendered()` does, so a line
/// written either way is the same bytes.
public struct JSONObjectWriter {
    public private(set) var bytes: [UInt8] = []
    /// A value was written at the current level: the next key needs a comma before it.
    private var needsComma = false

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

    public mutating func field(_ key: StaticString, _ value: Bool) {
        beginField(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// A field whose key is not a constant (a tag's name): escaped as a string is.
    public mutating func field(key: String, _ value: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
        JSONValue.writeString(key, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
        JSONValue.writeString(value, into: &bytes)
    }

    /// Opens an object as the value of `key`; its fields follow until `endObject()`.
    public mutating func beginObject(_ key: StaticString) {
        beginField(key)
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
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
        String(decoding: finishBytes(suffix: suffix), as: UTF8.self)
    }

    /// The object closed, as bytes (an element for an array the caller writes).
    public mutating func finishBytes(suffix: String = "") -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        bytes.append(contentsOf: suffix.utf8)
        return bytes
    }

    private mutating func beginField(_ key: StaticString) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: "\":".utf8)
    }
}
