/// The virtual traffic of a run as a pcap file (`sim --pcap PATH`): every virtual connection is a
/// TCP stream between its IPv4 addresses (handshake, data segments, FIN or RST) with the run's
/// virtual timestamps, so tcpdump, tshark and Wireshark follow it like a capture from a cluster.
///
/// Two kinds of stream: what an app sends and gets (a load worker's connection from its pod to the
/// address it dialled: HTTP requests and responses, or fortio's TCP echo calls, as bytes), and each
/// sidecar-to-sidecar connection (pod to pod on the inbound port 15003), whose bytes are TLS 1.2
/// application-data records of the sizes the hop carried: the hop is mTLS, so a capture sees
/// records, never the HTTP inside. Pure and deterministic: the same run gives the same bytes.
struct PacketCapture {
    /// One TCP connection, client side first.
    struct Flow: Hashable {
        var client: UInt32
        var clientPort: UInt16
        var server: UInt32
        var serverPort: UInt16
    }

    private struct Sequences {
        var client: UInt32
        var server: UInt32
    }

    /// The pcap file so far: the global header, then one record per packet.
    private(set) var bytes: [UInt8]
    private var open: [Flow: Sequences] = [:]
    /// Initial sequence numbers: a counter, so runs are reproducible.
    private var nextSequence: UInt32 = 1_000

    /// TCP segments carry at most this many payload bytes (an Ethernet MTU's worth).
    static let maxSegment = 1460

    init() {
        bytes = PcapFormat.fileHeader()
    }

    func isOpen(_ flow: Flow) -> Bool { open[flow] != nil }

    /// The three-way handshake at `time` (nanoseconds of virtual time).
    mutating func connect(_ flow: Flow, at time: Int64) {
        let client = nextSequence, server = nextSequence &+ 500_000
        nextSequence &+= 1_000_000
        append(flow, fromClient: true, flags: .syn, sequence: client, acknowledgement: 0, at: time)
        append(flow, fromClient: false, flags: [.syn, .ack], sequence: server, acknowledgement: client &+ 1, at: time)
        open[flow] = Sequences(client: client &+ 1, server: server &+ 1)
        append(flow, fromClient: true, flags: .ack, sequence: client &+ 1, acknowledgement: server &+ 1, at: time)
    }

    /// `payload` from one side, in segments; the flow is opened first when it is not.
    mutating func send(_ flow: Flow, fromClient: Bool, _ payload: [UInt8], at time: Int64) {
        if open[flow] == nil { connect(flow, at: time) }
        guard var sequences = open[flow] else { return }
        var offset = 0
        while offset < payload.count {
            let end = min(payload.count, offset + Self.maxSegment)
            let segment = Array(payload[offset..<end])
            if fromClient {
                append(flow, fromClient: true, flags: [.psh, .ack], sequence: sequences.client, acknowledgement: sequences.server, payload: segment, at: time)
                sequences.client &+= UInt32(segment.count)
            } else {
                append(flow, fromClient: false, flags: [.psh, .ack], sequence: sequences.server, acknowledgement: sequences.client, payload: segment, at: time)
                sequences.server &+= UInt32(segment.count)
            }
            offset = end
        }
        open[flow] = sequences
    }

    /// Ends the flow: FIN from `fromClient`'s side answered by the other, or a RST (a refused or
    /// reset connection). Nothing for a flow that is not open.
    mutating func close(_ flow: Flow, fromClient: Bool, reset: Bool = false, at time: Int64) {
        guard let sequences = open.removeValue(forKey: flow) else { return }
        let (mine, theirs) = fromClient ? (sequences.client, sequences.server) : (sequences.server, sequences.client)
        if reset {
            append(flow, fromClient: fromClient, flags: [.rst, .ack], sequence: mine, acknowledgement: theirs, at: time)
            return
        }
        append(flow, fromClient: fromClient, flags: [.fin, .ack], sequence: mine, acknowledgement: theirs, at: time)
        append(flow, fromClient: !fromClient, flags: [.fin, .ack], sequence: theirs, acknowledgement: mine &+ 1, at: time)
        append(flow, fromClient: fromClient, flags: .ack, sequence: mine &+ 1, acknowledgement: theirs &+ 1, at: time)
    }

    /// A connection refused at once: the SYN and the server's RST.
    mutating func refuse(_ flow: Flow, at time: Int64) {
        let client = nextSequence
        nextSequence &+= 1_000_000
        append(flow, fromClient: true, flags: .syn, sequence: client, acknowledgement: 0, at: time)
        append(flow, fromClient: false, flags: [.rst, .ack], sequence: 0, acknowledgement: client &+ 1, at: time)
    }

    private mutating func append(_ flow: Flow, fromClient: Bool, flags: PcapFormat.TCPFlags, sequence: UInt32, acknowledgement: UInt32,
                                 payload: [UInt8] = [], at time: Int64) {
        let (source, sourcePort, destination, destinationPort) = fromClient
            ? (flow.client, flow.clientPort, flow.server, flow.serverPort)
            : (flow.server, flow.serverPort, flow.client, flow.clientPort)
        let packet = PcapFormat.ipv4TCP(source: source, sourcePort: sourcePort, destination: destination, destinationPort: destinationPort,
                                        sequence: sequence, acknowledgement: acknowledgement, flags: flags, payload: payload)
        bytes += PcapFormat.record(packet, at: time)
    }
}

extension PacketCapture {
    /// `bytes` inside TLS 1.2 application-data records (content type 23), as many as the record
    /// size limit needs: what a capture of an mTLS hop shows of `count` bytes of HTTP.
    static func tlsRecords(carrying count: Int) -> [UInt8] {
        var result: [UInt8] = []
        var left = max(count, 1)
        while left > 0 {
            let length = min(left, 16_384)
            result += [23, 3, 3, UInt8(length >> 8), UInt8(length & 0xFF)]
            result += [UInt8](repeating: 0, count: length)
            left -= length
        }
        return result
    }
}
