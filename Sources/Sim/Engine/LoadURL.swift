import MeshModel

/// A load's target, as the simulator and real mode send to it: `http://host[:port]/path` (port 80
/// by default), `https://host[:port]/path` (443), `tcp://host:port`, `grpc://host:port/pkg.Service/Method`
/// (an HTTP/2 request with content-type application/grpc) or `udp://host:port` (one datagram per request).
public struct LoadURL: Hashable, Sendable {
    public enum Scheme: String, Hashable, Sendable, CaseIterable {
        case http, https, tcp, grpc, udp
        /// The port a URL without one names; nil: the scheme needs an explicit port.
        var defaultPort: Int? {
            switch self {
            case .http: 80
            case .https: 443
            case .tcp, .grpc, .udp: nil
            }
        }
        /// Whether a request carries an HTTP head (a path, a Host).
        public var isHTTP: Bool { self == .http || self == .https || self == .grpc }
    }

    public var scheme: Scheme
    public var isTCP: Bool { scheme == .tcp }
    public var host: String
    public var port: Int
    /// Whether the URL names its port (then the Host header does too).
    public var explicitPort: Bool
    /// `/path?query`, `/` when the URL has none; empty for tcp:// and udp://.
    public var path: String

    /// What a load sends as its Host (and a TCP tunnel's target): `host` or `host:port`.
    public var authority: String { explicitPort ? "\(host):\(port)" : host }

    public static let schemes = Scheme.allCases.map { "\($0.rawValue)://" }

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
            throw Problem(message: (named ?? "expected a URL such as http://host:port/path or tcp://host:port, found \(quoted)") + "; expected http://, https://, tcp://, grpc:// or udp://")
        }
        self.scheme = Scheme(rawValue: String(scheme.dropLast(3)))!
        let rest = text.dropFirst(scheme.count)
        let authority = rest.prefix(while: { $0 != "/" && $0 != "?" })
        let pathPart = String(rest.dropFirst(authority.count))
        path = self.scheme.isHTTP ? (pathPart.isEmpty ? "/" : (pathPart.hasPrefix("?") ? "/" + pathPart : pathPart)) : ""
        if !self.scheme.isHTTP, !pathPart.isEmpty, pathPart != "/" {
            throw Problem(message: "\(scheme) takes no path (\(scheme)host:port), found \(quoted)")
        }
        if self.scheme == .grpc, !Self.isGRPCMethodPath(path) {
            throw Problem(message: "grpc:// needs the method as its path (grpc://host:port/pkg.Service/Method), found \(quoted)")
        }
        let colon = authority.lastIndex(of: ":")
        host = String(authority[..<(colon ?? authority.endIndex)])
        guard !host.isEmpty else { throw Problem(message: "missing host in \(quoted)") }
        guard let colon else {
            guard let port = self.scheme.defaultPort else { throw Problem(message: "\(scheme) needs a port (\(scheme)host:port), found \(quoted)") }
            self.port = port
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

extension LoadURL {
    /// `/pkg.Service/Method`: a service name with a dot-separated package, then a method name.
    static func isGRPCMethodPath(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else { return false }
        let name: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ".") }
        return parts[1].allSatisfy(name) && parts[2].allSatisfy(name) && !parts[2].contains(".")
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
