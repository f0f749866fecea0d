import MeshControl
import MeshModel

/// The configuration text a proxy receives (the controller's rendering, `fsm proxy get config_dump`).
func renderConfig(_ config: ProxyConfig, pretty: Bool) -> String {
    config.renderedJSON(pretty: pretty)
}

/// `renderConfig(config, pretty: false).utf8.count` without building the text: a proxy's memory
/// is modelled from its config size, and in a large permissive mesh every config lists every
/// service, so rendering it only to count its bytes dominated the set-up of a run.
func renderedConfigByteCount(_ config: ProxyConfig) -> Int {
    compactByteCount(config.jsonValue)
}

/// The length in UTF-8 bytes of `value.rendered(pretty: false)`, following `JSONValue`'s writer.
func compactByteCount(_ value: JSONValue) -> Int {
    switch value {
    case .null: return 4
    case .bool(let b): return b ? 4 : 5
    case .int(let i): return decimalLength(i)
    case .double(let d): return JSONValue.format(d).utf8.count
    case .string(let s): return quotedByteCount(s)
    case .array(let items):
        guard !items.isEmpty else { return 2 }
        var count = 2 + items.count - 1
        for item in items { count += compactByteCount(item) }
        return count
    case .object(let pairs):
        guard !pairs.isEmpty else { return 2 }
        var count = 2 + pairs.count - 1
        for (key, item) in pairs { count += quotedByteCount(key) + 1 + compactByteCount(item) }
        return count
    }
}

private func decimalLength(_ value: Int64) -> Int {
    var count = value < 0 ? 2 : 1
    var rest = value.magnitude / 10
    while rest > 0 { count += 1; rest /= 10 }
    return count
}

/// A JSON string literal's length: quotes, two-byte escapes, `\u00XX` for other control characters.
private func quotedByteCount(_ s: String) -> Int {
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
