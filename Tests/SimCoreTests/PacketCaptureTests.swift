import Testing
@testable import SimCore

/// The pcap bytes `sim --pcap` writes: header fields, checksums, and TCP sequence numbers that a
/// reader can follow (`PcapCommandTests` reads whole runs back with libpcap).
struct PacketCaptureTests {
    @Test func theInternetChecksumMatchesRFC1071sExample() {
        // The IPv4 header of Wikipedia's worked example, checksum field zeroed: 0xB861.
        let header: [UInt8] = [0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7]
        #expect(PcapFormat.checksum(header) == 0xB861)
        // A packet with its checksum in place sums to zero.
        var filled = header
        filled[10] = 0xB8
        filled[11] = 0x61
        #expect(PcapFormat.checksum(filled) == 0)
    }

    @Test func theFileHeaderIsLibpcapsWithNanosecondsAndRawIP() {
        let header = PcapFormat.fileHeader()
        #expect(header.count == 24)
        #expect(Array(header[0..<4]) == [0x4D, 0x3C, 0xB2, 0xA1])
        #expect(Array(header[20..<24]) == [101, 0, 0, 0])
    }

    @Test func aStreamsSequenceNumbersFollowItsBytes() {
        var capture = PacketCapture()
        let flow = PacketCapture.Flow(client: 0x0AF4_000C, clientPort: 10_000, server: 0x0A60_000A, serverPort: 8080)
        capture.send(flow, fromClient: true, Array("GET / HTTP/1.1\r\n\r\n".utf8), at: 1_500_000_000)
        capture.send(flow, fromClient: false, [UInt8](repeating: 65, count: 3000), at: 1_600_000_000)
        capture.close(flow, fromClient: true, at: 1_700_000_000)
        let packets = Self.records(capture.bytes)
        // SYN, SYN-ACK, ACK, request, three response segments (1460 + 1460 + 80), FIN, FIN, ACK.
        #expect(packets.map(\.payload.count) == [0, 0, 0, 18, 1460, 1460, 80, 0, 0, 0])
        #expect(packets.map(\.flags) == [0x02, 0x12, 0x10, 0x18, 0x18, 0x18, 0x18, 0x11, 0x11, 0x10])
        let serverSegments = packets[4...6]
        #expect(zip(serverSegments, serverSegments.dropFirst()).allSatisfy { $0.sequence &+ UInt32($0.payload.count) == $1.sequence })
        #expect(packets[3].sequence == packets[0].sequence &+ 1)
        #expect(packets.allSatisfy { PcapFormat.checksum(Array($0.bytes[0..<20])) == 0 })
        #expect(packets[0].seconds == 1 && packets[0].nanoseconds == 500_000_000)
        #expect(!capture.isOpen(flow))
    }

    @Test func tlsRecordsCarryTheSizeOfWhatTheyHide() {
        let records = PacketCapture.tlsRecords(carrying: 20_000)
        #expect(records.count == 20_000 + 2 * 5)
        #expect(Array(records[0..<5]) == [23, 3, 3, 0x40, 0x00])
        #expect(Array(records[16_389..<16_394]) == [23, 3, 3, UInt8((20_000 - 16_384) >> 8), UInt8((20_000 - 16_384) & 0xFF)])
    }

    struct Record {
        var seconds: UInt32
        var nanoseconds: UInt32
        var bytes: [UInt8]
        var flags: UInt8 { bytes[33] }
        var sequence: UInt32 { UInt32(bytes[24]) << 24 | UInt32(bytes[25]) << 16 | UInt32(bytes[26]) << 8 | UInt32(bytes[27]) }
        var payload: ArraySlice<UInt8> { bytes[40...] }
    }

    static func records(_ file: [UInt8]) -> [Record] {
        func word(_ at: Int) -> UInt32 { UInt32(file[at]) | UInt32(file[at + 1]) << 8 | UInt32(file[at + 2]) << 16 | UInt32(file[at + 3]) << 24 }
        var result: [Record] = []
        var offset = 24
        while offset + 16 <= file.count {
            let length = Int(word(offset + 8))
            result.append(Record(seconds: word(offset), nanoseconds: word(offset + 4), bytes: Array(file[offset + 16..<offset + 16 + length])))
            offset += 16 + length
        }
        return result
    }
}
