import NIOHTTP1

/// What may be written as a response head or trailers towards a downstream client (the check of
/// NIO's `NIOHTTPResponseHeadersValidator`, made by `DownstreamPipeliningHandler` as the parts pass
/// it instead of in a handler of its own): field names are RFC 9110 tokens, field values hold no
/// control character but HTAB (no CR, LF or NUL from a config's `ResponseHeadersToAdd` or an
/// upstream: no header injection towards the app), a custom reason phrase only HTAB, SP, VCHAR and
/// obs-text (RFC 9112 §4).
enum ResponseHeadCheck {
    static func mayBeSent(_ part: HTTPServerResponsePart) -> Bool {
        switch part {
        case .head(let head): mayBeSent(head.headers) && mayBeSent(head.status)
        case .body: true
        case .end(let trailers): trailers.map(mayBeSent) ?? true
        }
    }

    static func mayBeSent(_ headers: HTTPHeaders) -> Bool {
        headers.allSatisfy { name, value in
            allBytes(of: name, satisfy: isTokenByte) && allBytes(of: value, satisfy: isFieldValueByte)
        }
    }

    /// Over the string's contiguous UTF-8 when it has some (a native string: a plain loop over
    /// memory, as NIO's validators do), else byte by byte.
    static func allBytes(of string: String, satisfy predicate: (UInt8) -> Bool) -> Bool {
        string.utf8.withContiguousStorageIfAvailable { $0.allSatisfy(predicate) } ?? string.utf8.allSatisfy(predicate)
    }

    static func mayBeSent(_ status: HTTPResponseStatus) -> Bool {
        guard case .custom(_, let reason) = status else { return true }
        return reason.utf8.allSatisfy { $0 == 9 || $0 == 32 || ($0 >= 0x21 && $0 != 0x7F) }
    }

    /// tchar (RFC 9110 §5.6.2): DIGIT, ALPHA and ``!#$%&'*+-.^_`|~``.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }

    /// Any byte of a field value but the control characters other than HTAB.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == 9 || (byte > 0x1F && byte != 0x7F)
    }
}
