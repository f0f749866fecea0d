/// Cuts a watch stream (one JSON object per line, chunks cut anywhere) into lines. A line longer
/// than `maxLineBytes` is garbage: the stream cannot be trusted after it.
public struct WatchLineSplitter: Sendable {
    public let maxLineBytes: Int
    private var pending: [UInt8] = []

    public init(maxLineBytes: Int = 16 << 20) {
        self.maxLineBytes = maxLineBytes
    }

    public enum Failure: Error, Equatable, Sendable {
        case lineTooLong(Int)
    }

    /// The complete lines the chunk finishes (empty lines dropped).
    public mutating func feed(_ chunk: some Sequence<UInt8>) throws(Failure) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        for byte in chunk {
            if byte == UInt8(ascii: "\n") {
                if !pending.isEmpty { lines.append(pending) }
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
                if pending.count > maxLineBytes { throw .lineTooLong(pending.count) }
            }
        }
        return lines
    }

    /// Bytes of an unfinished line at the end of the stream (a truncated event).
    public var unfinishedBytes: Int { pending.count }
}
