/// A destination or source range from the config: an IPv4 CIDR, or any other address form
/// (IPv6, names) matched literally.
enum AddressRange: Hashable, Sendable {
    case ipv4(network: UInt32, mask: UInt32)
    case literal(String)

    /// nil for a malformed IPv4 range or prefix length.
    init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let addressPart = parts.first, !addressPart.isEmpty else { return nil }
        if let address = AddressRange.parseIPv4(addressPart) {
            var prefix = 32
            if parts.count == 2 {
                guard let p = Int(parts[1]), (0...32).contains(p) else { return nil }
                prefix = p
            }
            let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix)
            self = .ipv4(network: address & mask, mask: mask)
        } else {
            // An IPv4-looking address that did not parse is an error, not a literal.
            if addressPart.allSatisfy({ $0.isNumber || $0 == "." }) { return nil }
            if parts.count == 2, Int(parts[1]) == nil { return nil }
            self = .literal(String(addressPart))
        }
    }

    func contains(ip: String, parsed: UInt32?) -> Bool {
        switch self {
        case let .ipv4(network, mask):
            guard let parsed else { return false }
            return parsed & mask == network
        case let .literal(text):
            return text == ip
        }
    }

    /// Dotted quad to an integer, without allocating.
    static func parseIPv4(_ text: some StringProtocol) -> UInt32? {
        // Native strings: the contiguous UTF-8 buffer (the generic UTF8View walk cost ~5x per request).
        if let parsed = text.utf8.withContiguousStorageIfAvailable({ parseIPv4(bytes: $0) }) { return parsed }
        return parseIPv4(bytes: text.utf8)
    }

    private static func parseIPv4(bytes: some Sequence<UInt8>) -> UInt32? {
        var result: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, dots < 3 else { return nil }
                result = result << 8 | octet
                octet = 0
                digits = 0
                dots += 1
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                guard digits <= 3, octet <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, dots == 3 else { return nil }
        return result << 8 | octet
    }
}
