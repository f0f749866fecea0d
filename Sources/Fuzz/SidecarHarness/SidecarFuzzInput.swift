/// How the sidecar harness reads a fuzz input: one options byte, then the bytes a client sends
/// to the listener; after `appMarker`, what the apps answer in place of the canned app.
///
/// The options byte's low six bits are flags, so the printable characters `@` to `\x7f` spell
/// every combination and seed files stay text: `@` is the outbound listener with every byte in one
/// read, `A` the inbound listener, `P` the outbound listener with the clock run to the deadlines.
public struct SidecarFuzzInput: Hashable, Sendable {
    public enum Listener: Hashable, Sendable {
        /// The client sidecar's outbound listener (an app's requests).
        case outbound
        /// The server sidecar's inbound listener (a peer sidecar's requests, plaintext peer mode).
        case inbound
    }

    public var listener: Listener
    /// The client's bytes arrive in reads of at most this many bytes; nil: in one read.
    public var readSize: Int?
    /// After the client's bytes the clock runs past every shell deadline (request head 10 s,
    /// request 15 s, idle 300 s) before the client goes away.
    public var clockRuns: Bool
    /// The connections the sidecars open make no progress until the client has sent everything.
    public var peersWait: Bool
    public var downstream: [UInt8]
    /// Written to every app connection, in place of the canned app, when it first receives bytes.
    public var appScript: [UInt8]?

    public static let appMarker: [UInt8] = Array("\n--app-response--\n".utf8)

    public init(listener: Listener, readSize: Int? = nil, clockRuns: Bool = false, peersWait: Bool = false,
                downstream: [UInt8], appScript: [UInt8]? = nil) {
        self.listener = listener
        self.readSize = readSize
        self.clockRuns = clockRuns
        self.peersWait = peersWait
        self.downstream = downstream
        self.appScript = appScript
    }

    /// Bits 0 listener, 1-3 read size (0: one read, n: 2^(n-1) bytes), 4 clock runs, 5 peers wait.
    public init(_ data: UnsafeRawBufferPointer) {
        let options = data.first ?? 0
        let rest = data.isEmpty ? [] : Array(data[1...])
        let sizeCode = Int(options >> 1) & 0x7
        let split = Self.split(rest)
        self.init(listener: options & 1 == 0 ? .outbound : .inbound, readSize: sizeCode == 0 ? nil : 1 << (sizeCode - 1),
                  clockRuns: options & 0x10 != 0, peersWait: options & 0x20 != 0, downstream: split.downstream, appScript: split.app)
    }

    /// The input that reads back as this one.
    public var bytes: [UInt8] {
        var options: UInt8 = 0x40 | (listener == .inbound ? 1 : 0) | (clockRuns ? 0x10 : 0) | (peersWait ? 0x20 : 0)
        if let readSize { options |= UInt8((readSize.trailingZeroBitCount + 1) & 0x7) << 1 }
        return [options] + downstream + (appScript.map { Self.appMarker + $0 } ?? [])
    }

    private static func split(_ bytes: [UInt8]) -> (downstream: [UInt8], app: [UInt8]?) {
        let marker = appMarker
        guard bytes.count >= marker.count else { return (bytes, nil) }
        for start in 0...(bytes.count - marker.count) where bytes[start] == marker[0] {
            if bytes[start..<start + marker.count].elementsEqual(marker) {
                return (Array(bytes[..<start]), Array(bytes[(start + marker.count)...]))
            }
        }
        return (bytes, nil)
    }
}
