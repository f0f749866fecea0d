/// The bytes of a pcap file (libpcap's format, nanosecond timestamps, raw IPv4 link type) and of
/// the IPv4/TCP packets in it, checksums included. Little-endian headers as libpcap writes them on
/// this architecture; packet fields in network byte order.
enum PcapFormat {
    /// libpcap's magic for nanosecond-resolution timestamps.
    static let nanosecondMagic: UInt32 = 0xA1B2_3C4D
    /// LINKTYPE_RAW: each packet starts with its IP header.
    static let linkTypeRaw: UInt32 = 101
    static let snapLength: UInt32 = 262_144

    struct TCPFlags: OptionSet {
        let rawValue: UInt8
        static let fin = TCPFlags(rawValue: 0x01)
        static let syn = TCPFlags(rawValue: 0x02)
        static let rst = TCPFlags(rawValue: 0x04)
        static let psh = TCPFlags(rawValue: 0x08)
        static let ack = TCPFlags(rawValue: 0x10)
    }

    /// The 24-byte global header: version 2.4, no time zone offset, the snap length and link type.
    static func fileHeader() -> [UInt8] {
        littleEndian(nanosecondMagic) + littleEndian(UInt16(2)) + littleEndian(UInt16(4))
            + littleEndian(UInt32(0)) + littleEndian(UInt32(0)) + littleEndian(snapLength) + littleEndian(linkTypeRaw)
    }

    /// One packet record at `time` nanoseconds since the start of the run (the epoch of the file).
    static func record(_ packet: [UInt8], at time: Int64) -> [UInt8] {
        let nanoseconds = max(0, time)
        let length = UInt32(packet.count)
        return littleEndian(UInt32(nanoseconds / 1_000_000_000)) + littleEndian(UInt32(nanoseconds % 1_000_000_000))
            + littleEndian(length) + littleEndian(length) + packet
    }

    /// An IPv4 packet holding a TCP segment (no options, window 65535, TTL 64).
    static func ipv4TCP(source: UInt32, sourcePort: UInt16, destination: UInt32, destinationPort: UInt16,
                        sequence: UInt32, acknowledgement: UInt32, flags: TCPFlags, payload: [UInt8]) -> [UInt8] {
        var tcp = bigEndian(sourcePort) + bigEndian(destinationPort) + bigEndian(sequence)
            + bigEndian(flags.contains(.ack) ? acknowledgement : 0)
        tcp += [5 << 4, flags.rawValue] + bigEndian(UInt16(65_535)) + [0, 0, 0, 0]
        tcp += payload
        let pseudo = bigEndian(source) + bigEndian(destination) + [0, 6] + bigEndian(UInt16(tcp.count))
        let tcpChecksum = checksum(pseudo + tcp)
        tcp[16] = UInt8(tcpChecksum >> 8)
        tcp[17] = UInt8(tcpChecksum & 0xFF)
        var ip: [UInt8] = [0x45, 0] + bigEndian(UInt16(20 + tcp.count)) + [0, 0, 0x40, 0] + [64, 6, 0, 0]
        ip += bigEndian(source) + bigEndian(destination)
        let ipChecksum = checksum(ip)
        ip[10] = UInt8(ipChecksum >> 8)
        ip[11] = UInt8(ipChecksum & 0xFF)
        return ip + tcp
    }

    /// The Internet checksum (RFC 1071) of `bytes`.
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var index = 0
        while index + 1 < bytes.count {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.count { sum += UInt32(bytes[index]) << 8 }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
}
