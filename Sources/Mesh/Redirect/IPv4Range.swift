/// An IPv4 range in CIDR notation (`10.244.0.0/16`), as the exclusion and inclusion lists take it.
/// The address is kept as written (host bits included) because iptables accepts and masks it itself,
/// and the generated rules should read like the configuration they came from.
public struct IPv4Range: Hashable, Sendable, CustomStringConvertible {
    /// The address in host byte order.
    public let address: UInt32
    public let prefixLength: Int

    /// Nil when the prefix length is outside 0...32.
    public init?(address: UInt32, prefixLength: Int) {
        guard (0...32).contains(prefixLength) else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `a.b.c.d/n` (whitespace around it is ignored). Returns nil for anything else,
    /// including IPv6 ranges, a missing prefix length, octets above 255 or with leading signs.
    public init?(_ text: some StringProtocol) {
        let trimmed = text.trimmingASCIIWhitespace()
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let prefix = Self.decimal(parts[1], max: 32), let value = Self.address(parts[0]) else { return nil }
        self.init(address: value, prefixLength: prefix)
    }

    /// A dotted-quad IPv4 address (`10.244.0.10`) in host byte order; nil for anything else, with
    /// the same strictness as ranges (no leading zeros, signs or spaces inside).
    public static func address(_ text: some StringProtocol) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard let byte = decimal(Substring(octet), max: 255) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    /// `a.b.c.d` for an address in host byte order.
    public static func dottedQuad(_ address: UInt32) -> String {
        "\(address >> 24).\(address >> 16 & 0xff).\(address >> 8 & 0xff).\(address & 0xff)"
    }

    /// The first address of the range.
    public var networkAddress: UInt32 {
        prefixLength == 0 ? 0 : address & (UInt32.max << UInt32(32 - prefixLength))
    }

    public func contains(_ other: UInt32) -> Bool {
        prefixLength == 0 || (other ^ address) >> UInt32(32 - prefixLength) == 0
    }

    public var description: String { "\(Self.dottedQuad(address))/\(prefixLength)" }

    /// Plain decimal digits only (no sign, no spaces, no leading zero that could read as octal),
    /// at most three of them, value within `max`.
    private static func decimal(_ text: Substring, max: Int) -> Int? {
        guard !text.isEmpty, text.count <= 3, text.count == 1 || text.first != "0", text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text), value <= max else {
            return nil
        }
        return value
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and newlines.
    func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        let text = Substring(self)
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) }) else {
            return text[text.endIndex...]
        }
        return text[first...last]
    }
}
