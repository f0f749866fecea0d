/// Scans of the UTF-8 bytes of request fields on the per-request paths. Native strings are
/// contiguous UTF-8, so the scans walk the buffer; the generic `String.UTF8View` walk cost
/// several times as much per request (profiled in the simulator).
extension HTTPRequestHead {
    /// `path` without its query (`?` and what follows).
    public static func pathWithoutQuery(_ path: String) -> Substring {
        guard let offset = utf8Offset(of: UInt8(ascii: "?"), in: path) else { return Substring(path) }
        return path[..<path.utf8.index(path.utf8.startIndex, offsetBy: offset)]
    }

    /// The offset in `text`'s UTF-8 of the first `byte`, nil when it has none.
    static func utf8Offset(of byte: UInt8, in text: some StringProtocol) -> Int? {
        if let found = text.utf8.withContiguousStorageIfAvailable({ $0.firstIndex(of: byte) }) { return found }
        return text.utf8.firstIndex(of: byte).map { text.utf8.distance(from: text.utf8.startIndex, to: $0) }
    }
}
