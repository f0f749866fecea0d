import NIOHTTP1

/// What may be written as a request head towards an upstream (a peer sidecar, the local app): the
/// rule of NIO's `NIOHTTPRequestHeadersValidator`, made where the head is written
/// (`HTTP1RequestWriter`) instead of in a handler of its own, which took every request part on its
/// way (a hop and a cast each; DECISIONS 266). The request-target holds only the characters
/// RFC 9112 §3.2 and RFC 3986 allow on the wire (no SP, CTL, CR, LF or NUL: no request
/// smuggling), the method is a token, field names are tokens and field values hold no control
/// character but HTAB (`ResponseHeadCheck`'s rule). A head that fails closes the connection, as
/// the validator's error did.
enum ForwardedRequestCheck {
    static func mayBeSent(_ head: HTTPRequestHead) -> Bool {
        isRequestTarget(head.uri) && isMethod(head.method) && ResponseHeadCheck.mayBeSent(head.headers)
    }

    static func isMethod(_ method: HTTPMethod) -> Bool {
        guard case .RAW(let value) = method else { return true }
        return ResponseHeadCheck.allBytes(of: value, satisfy: ResponseHeadCheck.isTokenByte)
    }

    /// ALPHA, DIGIT, unreserved, gen-delims, sub-delims and `%` (RFC 3986's literal set).
    static func isRequestTarget(_ uri: String) -> Bool {
        ResponseHeadCheck.allBytes(of: uri, satisfy: isRequestTargetByte)
    }

    static func isRequestTargetByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
             UInt8(ascii: ":"), UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "@"),
             UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: "%"):
            true
        default:
            false
        }
    }
}
