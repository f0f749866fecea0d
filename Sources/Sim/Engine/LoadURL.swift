import MeshModel

/// A load's target: `http://host[:port]/path` (port 80 by default) or `tcp://host:port`, as the
/// simulator and real mode send to it.
public struct LoadURL: Hashable, Sendable {
    public var isTCP: Bool
    public var host: String
    public var port: Int
    /// Whether the URL names its port (then the Host header does too).
    public var explicitPort: Bool
    /// `/path?query`, `/` when the URL has none; empty for tcp://.
    public var path: String

    /// What a load sends as its Host (and a TCP tunnel's target): `host` or `host:port`.
    public var authority: String { explicitPort ? "\(host):\(port)" : host }

    public static let schemes = ["http://", "tcp://"]

    /// Why a text is not a load URL, in words that follow the scenario field (`url: ...`).
    public struct Problem: Error, Hashable, Sendable {
        public var message: String
    }

    public init(parsing text: String) throws(Problem) {
        let quoted = JSONValue.string(text).rendered()
        if let bad = text.unicodeScalars.first(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            throw Problem(message: "must not contain spaces or control characters (found U+\(String(bad.value, radix: 16, uppercase: true).leftPadded(to: 4))) in \(quoted)")
        }
        guard let scheme = Self.schemes.first(where: { text.hasPrefix($0) }) else {
            let named = text.firstRange(of: "://").map { "unsupported scheme \(JSONValue.string(String(text[..<$0.lowerBound])).rendered()) in \(quoted)" }
            throw Problem(message: (named ?? "expected a URL such as http://host:port/path or tcp://host:port, found \(quoted)") + "; expected http:// or tcp://")
        }
        isTCP = scheme == "tcp://"
        let rest = text.dropFirst(scheme.count)
        let authority = rest.prefix(while: { $0 != "/" && $0 != "?" })
        let pathPart = String(rest.dropFirst(authority.count))
        path = isTCP ? "" : (pathPart.isEmpty ? "/" : (pathPart.hasPrefix("?") ? "/" + pathPart : pathPart))
        let colon = authority.lastIndex(of: ":")
        host = String(authority[..<(colon ?? authority.endIndex)])
        guard !host.isEmpty else { throw Problem(message: "missing host in \(quoted)") }
        guard let colon else {
            if isTCP { throw Problem(message: "tcp:// needs a port (tcp://host:port), found \(quoted)") }
            port = 80
            explicitPort = false
            return
        }
        let portText = authority[authority.index(after: colon)...]
        guard let value = Int(portText) else {
            throw Problem(message: "port \(JSONValue.string(String(portText)).rendered()) is not a number in \(quoted); expected 1-65535")
        }
        guard (1...65535).contains(value) else { throw Problem(message: "port \(value) is out of range in \(quoted); expected 1-65535") }
        port = value
        explicitPort = true
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
