import MeshProxy
import NIOHTTP1

/// RFC 9112 §3.2 on a request head before the sidecar acts on it: more than one Host field line,
/// or a Host that is no `host[:port]`, is a 400; so is an HTTP/1.1 request without Host, unless its
/// target names the authority (CONNECT, absolute form). Where the Host routes the request (the
/// outbound listener: local mode resolves it, and under capture the engine picks the service by
/// it), a request of any version without one is a 400 too, with a body that says why.
enum RequestHeadCheck {
    /// What a listener does with a request's Host.
    enum HostUse {
        /// The Host routes the request (the outbound listener): without one it goes nowhere.
        case routes
        /// Only RFC 9112's rules (the inbound, admin and Prometheus listeners).
        case informs
    }

    struct Rejection: Equatable {
        let status: Int
        /// The body of the answer, one line.
        let reason: String

        /// The answer as the downstream responders write local answers.
        var localAnswer: MeshProxy.HTTPResponseHead {
            MeshProxy.HTTPResponseHead(status: status, headers: [MeshProxy.HTTPHeader(name: "content-type", value: "text/plain")], body: reason)
        }
    }

    static let moreThanOneHost = Rejection(status: 400, reason: "more than one Host header\n")
    static let invalidHost = Rejection(status: 400, reason: "invalid Host header\n")
    static let missingHost = Rejection(status: 400, reason: "missing Host header (HTTP/1.1 requires one)\n")
    static let missingRoutingHost = Rejection(status: 400, reason: "missing Host header: the sidecar routes requests by their Host\n")

    /// nil: the head may go on.
    static func check(_ head: NIOHTTP1.HTTPRequestHead, hostUse: HostUse) -> Rejection? {
        let hosts = HostFields(head)
        if hosts.repeated { return moreThanOneHost }
        if let host = hosts.first, !host.isEmpty, !isValidHost(host) { return invalidHost }
        if hosts.named || targetNamesAuthority(head) { return nil }
        if hostUse == .routes { return missingRoutingHost }
        let isHTTP11 = head.version.major == 1 && head.version.minor >= 1
        return isHTTP11 && hosts.first == nil ? missingHost : nil
    }

    /// A head's Host field lines, read in one pass over its headers without collecting them
    /// (every request passes here).
    struct HostFields {
        /// The first Host value, if any.
        private(set) var first: String?
        /// More than one Host line; in HTTP/2, lines that disagree (a request's :authority arrives
        /// as `host` and a client may repeat it as a header, which RFC 9113 §8.3.1 allows when both
        /// agree).
        private(set) var repeated = false
        /// Some Host line is not empty.
        private(set) var named = false

        init(_ head: NIOHTTP1.HTTPRequestHead) {
            let http2 = head.version.major == 2
            for (name, value) in head.headers where MeshHeaders.equalsIgnoringASCIICase(name, "host") {
                named = named || !value.isEmpty
                if let first {
                    repeated = repeated || !http2 || value != first
                } else {
                    first = value
                }
            }
        }
    }

    /// CONNECT's authority form, or an absolute-form target (`http://host/path`).
    static func targetNamesAuthority(_ head: NIOHTTP1.HTTPRequestHead) -> Bool {
        if head.method == .CONNECT { return !head.uri.isEmpty }
        let uri = head.uri.utf8
        guard let colon = uri.firstIndex(of: UInt8(ascii: ":")), uri.first != UInt8(ascii: "/") else { return false }
        return head.uri[colon...].hasPrefix("://")
    }

    /// The answer to a request NIO's decoder refused: 431 for headers past its limit, 400 with
    /// what was wrong otherwise.
    static func rejection(for error: HTTPParserError) -> Rejection {
        switch error {
        case .headerOverflow: Rejection(status: 431, reason: "request headers too large\n")
        case .invalidMethod: Rejection(status: 400, reason: "malformed request: invalid method\n")
        case .invalidVersion: Rejection(status: 400, reason: "malformed request: invalid HTTP version\n")
        case .invalidURL: Rejection(status: 400, reason: "malformed request: invalid request target\n")
        case .invalidHeaderToken, .invalidCharactersUsed, .lfExpected, .invalidConstant:
            Rejection(status: 400, reason: "malformed request: invalid character in the request line or a header\n")
        case .invalidContentLength, .unexpectedContentLength, .invalidChunkSize:
            Rejection(status: 400, reason: "malformed request: invalid body framing\n")
        default: Rejection(status: 400, reason: "malformed request\n")
        }
    }

    /// `uri-host [ ":" port ]` (RFC 3986 reg-name, IPv4 or a bracketed IP literal): no spaces,
    /// no userinfo, no path, a numeric port.
    static func isValidHost(_ value: String) -> Bool {
        // Bytes, not Characters: every byte these rules take is ASCII, and a Character walk
        // (grapheme breaking) cost as much as the rest of the request's checks.
        let bytes = value.utf8
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return false }
            let literal = bytes[bytes.index(after: bytes.startIndex)..<close]
            guard !literal.isEmpty, literal.allSatisfy({ isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else { return false }
            let rest = bytes[bytes.index(after: close)...]
            guard let first = rest.first else { return true }
            return first == UInt8(ascii: ":") && isPort(rest.dropFirst())
        }
        var name = bytes[...]
        if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
            guard isPort(bytes[bytes.index(after: colon)...]) else { return false }
            name = bytes[..<colon]
        }
        return !name.isEmpty && name.allSatisfy(isRegNameByte)
    }

    private static func isPort(_ digits: Substring.UTF8View) -> Bool {
        digits.count <= 5 && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 70) || (byte >= 97 && byte <= 102)
    }

    /// unreserved / pct-encoded / sub-delims (RFC 3986 §3.2.2).
    private static func isRegNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"): true
        case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="): true
        default: false
        }
    }
}
