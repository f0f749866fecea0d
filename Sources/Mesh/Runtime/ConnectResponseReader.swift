/// The answer to a `CONNECT` (the sidecar's to an egress gateway, `sim --real`'s https client's to
/// its sidecar), read byte by byte off the tunnel before the relay starts (sans I/O): a 2xx status
/// line and its header lines, up to the blank line, opens the tunnel and whatever follows is the
/// destination's; anything else, or a head longer than `limit` (a gateway that is no proxy, or one
/// that misbehaves), refuses it.
package struct ConnectResponseReader {
    package enum Outcome: Equatable {
        /// More bytes are needed.
        case incomplete
        /// The tunnel is open; `rest` came after the head (the destination's first bytes).
        case established(rest: [UInt8])
        /// The gateway refused (its status) or answered something that is no HTTP response (nil).
        case refused(status: Int?)
    }

    static let defaultLimit = 8 * 1024
    let limit: Int
    private var head: [UInt8] = []
    private var done = false

    package init(limit: Int = ConnectResponseReader.defaultLimit) {
        self.limit = limit
    }

    /// Feeds the next bytes from the gateway. After a final outcome, later calls return `incomplete`.
    package mutating func feed(_ bytes: some Collection<UInt8>) -> Outcome {
        guard !done else { return .incomplete }
        let start = max(0, head.count - 3)
        head.append(contentsOf: bytes)
        guard let end = ConnectResponseReader.headEnd(in: head, from: start) else {
            if head.count > limit { return finish(.refused(status: nil)) }
            return .incomplete
        }
        let status = ConnectResponseReader.status(ofHead: head[..<end])
        guard let status, (200...299).contains(status) else { return finish(.refused(status: status)) }
        return finish(.established(rest: Array(head[end...])))
    }

    private mutating func finish(_ outcome: Outcome) -> Outcome {
        done = true
        head = []
        return outcome
    }

    /// The index after the first `\r\n\r\n` at or after `start`.
    private static func headEnd(in bytes: [UInt8], from start: Int) -> Int? {
        var i = start
        while i + 3 < bytes.count {
            if bytes[i] == 13, bytes[i + 1] == 10, bytes[i + 2] == 13, bytes[i + 3] == 10 { return i + 4 }
            i += 1
        }
        return nil
    }

    /// `HTTP/1.x NNN ...`: the status; nil when the head does not start with such a line.
    private static func status(ofHead head: ArraySlice<UInt8>) -> Int? {
        let line = head.prefix { $0 != 13 }
        let prefix = Array("HTTP/1.".utf8)
        guard line.count >= 12, Array(line.prefix(prefix.count)) == prefix, line[line.startIndex + 8] == UInt8(ascii: " ") else { return nil }
        let digits = line[(line.startIndex + 9)..<(line.startIndex + 12)]
        guard digits.allSatisfy({ (48...57).contains($0) }) else { return nil }
        guard line.count == 12 || line[line.startIndex + 12] == UInt8(ascii: " ") else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 48) }
    }
}
