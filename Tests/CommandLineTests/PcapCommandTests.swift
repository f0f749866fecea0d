import CPcap
import Foundation
import Testing

/// `sim --pcap PATH` through the built binary, the file read back with libpcap as tcpdump reads it.
@Suite struct PcapCommandTests {
    /// One TCP segment of the file.
    struct Segment {
        var source: String
        var sourcePort: Int
        var destination: String
        var destinationPort: Int
        var flags: UInt8
        var payload: [UInt8]
        var nanoseconds: Int64

        var text: String { String(decoding: payload, as: UTF8.self) }
        var isSyn: Bool { flags & 0x02 != 0 && flags & 0x10 == 0 }
    }

    enum ReadError: Error, CustomStringConvertible {
        case open(String)
        var description: String { switch self { case .open(let text): "pcap_open_offline: \(text)" } }
    }

    /// Every packet of `path` through libpcap: the link type, and each IPv4/TCP segment.
    static func read(_ path: String) throws -> (linkType: Int32, segments: [Segment]) {
        var errors = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errors) else {
            throw ReadError.open(String(decoding: errors.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { pcap_close(handle) }
        var segments: [Segment] = []
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        while pcap_next_ex(handle, &header, &data) == 1, let header, let data {
            let bytes = Array(UnsafeBufferPointer(start: data, count: Int(header.pointee.caplen)))
            let time = Int64(header.pointee.ts.tv_sec) * 1_000_000_000 + Int64(header.pointee.ts.tv_usec)
            if let segment = parse(bytes, at: time) { segments.append(segment) }
        }
        return (pcap_datalink(handle), segments)
    }

    static func parse(_ packet: [UInt8], at time: Int64) -> Segment? {
        guard packet.count >= 40, packet[0] >> 4 == 4, packet[9] == 6 else { return nil }
        let ipLength = Int(packet[0] & 0x0F) * 4
        let tcp = Array(packet[ipLength...])
        let tcpLength = Int(tcp[12] >> 4) * 4
        func address(_ at: Int) -> String { packet[at..<at + 4].map(String.init).joined(separator: ".") }
        func port(_ at: Int) -> Int { Int(tcp[at]) << 8 | Int(tcp[at + 1]) }
        return Segment(source: address(12), sourcePort: port(0), destination: address(16), destinationPort: port(2),
                       flags: tcp[13], payload: Array(tcp[tcpLength...]), nanoseconds: time)
    }

    @Test func theCanaryRunIsReadBackAsTCPStreamsWithTheLoadsRequests() throws {
        let sim = try BuiltCommand("sim")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pcap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pcap = directory.appendingPathComponent("canary.pcap").path
        let json = directory.appendingPathComponent("canary.json").path
        let outcome = try sim.run([Self.scenario("canary.yaml"), "--pcap", pcap, "--json", json, "--quiet"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let (linkType, segments) = try Self.read(pcap)
        #expect(linkType == DLT_RAW || linkType == 101, "raw IPv4, found link type \(linkType)")

        // The app's side: every request of every load answered on its stream, in order of time.
        let requests = segments.filter { $0.text.hasPrefix("GET / HTTP/1.1\r\n") }
        let answers = segments.filter { $0.text.hasPrefix("HTTP/1.1 200 OK\r\n") }
        let report = try String(contentsOfFile: json, encoding: .utf8)
        let sent = Self.totalRequests(inReport: report)
        #expect(requests.count == sent && answers.count == sent, "\(requests.count) requests, \(answers.count) answers, report \(sent)")
        #expect(answers.contains { $0.text.hasSuffix("Hi, I am v1!") || $0.text.contains("v1") })
        for answer in answers.prefix(20) {
            let request = try #require(requests.last { $0.source == answer.destination && $0.sourcePort == answer.destinationPort && $0.nanoseconds <= answer.nanoseconds })
            #expect(request.destination == answer.source && request.destinationPort == answer.sourcePort)
        }
        // Each stream starts with its handshake.
        let opened = Set(segments.filter(\.isSyn).map { "\($0.source):\($0.sourcePort)>\($0.destination):\($0.destinationPort)" })
        for request in requests { #expect(opened.contains("\(request.source):\(request.sourcePort)>\(request.destination):\(request.destinationPort)")) }

        // Sidecar to sidecar: mTLS to the inbound port, TLS application data records only.
        let hops = segments.filter { $0.destinationPort == 15003 && !$0.payload.isEmpty }
        #expect(!hops.isEmpty)
        #expect(hops.allSatisfy { $0.payload.starts(with: [23, 3, 3]) })
        #expect(!hops.contains { $0.text.contains("HTTP/1.1") })
        // Virtual timestamps: the loads run between 1 s and the end of the scenario.
        #expect(segments.allSatisfy { $0.nanoseconds >= 1_000_000_000 && $0.nanoseconds < 120_000_000_000 })
        #expect(zip(segments, segments.dropFirst()).allSatisfy { $0.nanoseconds <= $1.nanoseconds })
    }

    @Test func sameSeedSameFileAndTCPLoadsEchoTheirCalls() throws {
        let sim = try BuiltCommand("sim")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pcap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = directory.appendingPathComponent("a.pcap").path, second = directory.appendingPathComponent("b.pcap").path
        #expect(try sim.run([Self.scenario("tcp-split.yaml"), "--pcap", first, "--quiet"]).status == 0)
        #expect(try sim.run([Self.scenario("tcp-split.yaml"), "--pcap", second, "--quiet"]).status == 0)
        #expect(FileManager.default.contents(atPath: first) == FileManager.default.contents(atPath: second))
        let segments = try Self.read(first).segments
        let calls = segments.filter { $0.destinationPort == 8078 && $0.payload.count == 24 }
        let echoes = segments.filter { $0.sourcePort == 8078 && $0.payload.count == 24 }
        #expect(calls.count == 20 && echoes.count == 20)
        #expect(zip(calls, echoes).allSatisfy { $0.payload == $1.payload })
    }

    @Test func aPcapPathThatIsADirectoryIsRefusedBeforeTheRun() throws {
        let sim = try BuiltCommand("sim")
        let outcome = try sim.run([Self.scenario("echo.yaml"), "--pcap", FileManager.default.temporaryDirectory.path])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.hasPrefix("sim: --pcap"), "\(outcome.stderr)")
        #expect(outcome.stdout.isEmpty)
    }

    static func scenario(_ name: String, filePath: String = #filePath) -> String {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scenarios").appendingPathComponent(name).path
    }

    /// The sum of every load's `requests` in a JSON report.
    static func totalRequests(inReport text: String) -> Int {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let loads = object["loads"] as? [String: Any] else { return -1 }
        return loads.values.compactMap { ($0 as? [String: Any])?["requests"] as? Int }.reduce(0, +)
    }
}
