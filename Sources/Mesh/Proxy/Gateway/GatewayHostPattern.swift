/// A virtual host's hostname as the gateway matches a request's Host (or a TLS client's SNI):
/// exact (`foo.example.com`), a wildcard for one or more leading labels (`*.example.com`), or
/// `*` for every host. The Host is compared without its port, case-insensitively.
enum GatewayHostPattern: Hashable, Sendable {
    case any
    case exact(String)
    /// The suffix with its leading dot (`.example.com`).
    case wildcard(suffix: String)

    init(_ hostname: String) {
        let lowered = hostname.lowercased()
        if lowered == "*" || lowered.isEmpty {
            self = .any
        } else if lowered.hasPrefix("*.") {
            self = .wildcard(suffix: String(lowered.dropFirst()))
        } else {
            self = .exact(lowered)
        }
    }

    func matches(host: String) -> Bool {
        switch self {
        case .any: true
        case .exact(let name): host == name
        case .wildcard(let suffix): host.count > suffix.count && host.hasSuffix(suffix)
        }
    }

    /// A Host header as patterns compare it: lower-cased, without a port (`Foo.example.com:8000`
    /// is `foo.example.com`; an IPv6 literal keeps its brackets).
    static func hostName(_ authority: String) -> String {
        var host = Substring(authority)
        if let colon = host.lastIndex(of: ":"), !host[colon...].contains("]") { host = host[..<colon] }
        return host.lowercased()
    }
}
