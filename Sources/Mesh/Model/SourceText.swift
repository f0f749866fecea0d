/// The text of an input file from its bytes, as the shells read them: at most
/// `ManifestLimits.maxFileBytes`, UTF-8 (a leading byte-order mark is dropped). A byte that is not
/// UTF-8 is an error at its own line and column, counted as libyaml counts them (lines from 1,
/// columns in Unicode scalars from 1), so an editor can jump to it.
public enum SourceText {
    public static func decode(_ bytes: [UInt8], file: String) throws(ManifestError) -> String {
        if bytes.count > ManifestLimits.maxFileBytes {
            throw ManifestError(file: file, line: 1, column: 1, message: tooLarge(bytes.count))
        }
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        if let problem = firstInvalidByte(body, file: file) { throw problem }
        return String(decoding: body, as: UTF8.self)
    }

    /// The message for a file of `size` bytes over the limit (the shells check the size before reading).
    public static func tooLarge(_ size: Int) -> String {
        "the file is \(size) bytes; at most \(ManifestLimits.describeLimit(ManifestLimits.maxFileBytes)) are read (split it into several files)"
    }

    /// The error at the first byte that is not UTF-8, nil when every byte is.
    private static func firstInvalidByte(_ bytes: ArraySlice<UInt8>, file: String) -> ManifestError? {
        var line = 1, column = 1, offset = bytes.startIndex
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                if encoded.count == 1, encoded.first == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
                offset += encoded.count
            case .error(let length):
                let shown = bytes[offset..<(offset + max(1, length))].map { "0x" + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
                return ManifestError(file: file, line: line, column: column,
                                     message: "the file is not UTF-8 text: byte \(shown) is not valid UTF-8 (save the file as UTF-8)")
            case .emptyInput:
                return nil
            }
        }
    }
}
