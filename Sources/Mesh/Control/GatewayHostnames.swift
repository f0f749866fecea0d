import MeshModel

/// Gateway API hostname rules: a listener's hostname and a route's hostnames intersect into the
/// hostnames the route serves on that listener; a request's host picks the most specific of them.
///
/// A wildcard `*.example.com` matches one or more labels before `example.com` (`foo.example.com`,
/// `a.b.example.com`), never `example.com` itself; `*` (no hostname) matches every host.
public enum GatewayHostnames {
    public static let any = "*"

    /// The hostnames a route serves on a listener; nil when they do not intersect (the route is not
    /// accepted there: `NoMatchingListenerHostname`).
    public static func intersect(listener: String?, route: [String]) -> [String]? {
        guard let listener else { return route.isEmpty ? [any] : route }
        if route.isEmpty { return [listener] }
        var result: [String] = []
        for hostname in route {
            guard let common = intersect(listener, hostname), !result.contains(common) else { continue }
            result.append(common)
        }
        return result.isEmpty ? nil : result
    }

    /// The more specific of two hostnames when one includes the other; nil when disjoint.
    public static func intersect(_ a: String, _ b: String) -> String? {
        let a = a.lowercased(), b = b.lowercased()
        if a == b { return a }
        if matches(pattern: a, host: b) { return b }
        if matches(pattern: b, host: a) { return a }
        return nil
    }

    /// Whether `host` (a name, or a wildcard more specific than the pattern) falls under `pattern`.
    public static func matches(pattern: String, host: String) -> Bool {
        if pattern == any { return true }
        let host = host.lowercased(), pattern = pattern.lowercased()
        guard pattern.hasPrefix("*.") else { return pattern == host }
        let suffix = pattern.dropFirst(1) // ".example.com"
        let name = host.hasPrefix("*.") ? host.dropFirst(2) : Substring(host)
        return name.hasSuffix(suffix) && name.count > suffix.count
    }

    /// A request's Host header (or SNI) without port, lowercased.
    public static func requestHost(_ header: String) -> String {
        if header.hasPrefix("[") { return header.lowercased() } // an IPv6 literal keeps its brackets
        return String(header.prefix(while: { $0 != ":" })).lowercased()
    }

    /// Virtual host order: exact names (alphabetical), then wildcards from the longest suffix, then `*`.
    public static func precedes(_ a: String, _ b: String) -> Bool {
        func rank(_ h: String) -> (Int, Int, String) {
            if h == any { return (2, 0, h) }
            if h.hasPrefix("*.") { return (1, -h.count, h) }
            return (0, 0, h)
        }
        return rank(a) < rank(b)
    }
}
