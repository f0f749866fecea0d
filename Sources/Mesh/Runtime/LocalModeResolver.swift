import MeshModel
import MeshProxy

/// Local mode (no iptables): apps send plain HTTP to the outbound listener with the service in
/// the Host header, like an HTTP proxy without CONNECT. This finds the original destination the
/// app would have dialled — a service's cluster IP (its traffic match's first destination range)
/// and the port — so the engine sees the same `destination` it would see after a REDIRECT.
/// It only stands in for DNS and the kernel: the engine still chooses the traffic match and route.
struct LocalModeResolver: Sendable {
    private var byHost: [String: SocketAddress] = [:]
    /// Names outside the mesh → addresses (`SidecarSettings.hosts`), after the services.
    private var outside: [String: String] = [:]

    init() {}

    init(_ config: ProxyConfig, hosts: [String: String] = [:]) {
        for (name, ip) in hosts { outside[name.lowercased()] = ip }
        for match in config.outbound.trafficMatches {
            let ip = match.destinationIPRanges.first.map(LocalModeResolver.firstAddress) ?? LocalModeResolver.unknownIP
            for mapping in match.httpHostPort2Service {
                let host = mapping.host.lowercased()
                let port = LocalModeResolver.splitPort(host).port ?? match.port
                if byHost[host] == nil { byHost[host] = SocketAddress(ip: ip, port: port) }
            }
        }
    }

    /// Used when no traffic match names the host: the engine then matches by port and Host only.
    static let unknownIP = "0.0.0.0"

    /// `10.96.0.12/32` → `10.96.0.12`.
    static func firstAddress(_ range: String) -> String {
        if let slash = range.firstIndex(of: "/") { return String(range[..<slash]) }
        return range
    }

    /// A dotted quad.
    static func isIPv4(_ text: Substring) -> Bool {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { $0.count <= 3 && $0.allSatisfy(\.isASCII) && Int($0).map { (0...255).contains($0) } == true }
    }

    static func splitPort(_ host: String) -> (name: Substring, port: Int?) {
        guard let colon = host.lastIndex(of: ":"), let port = Int(host[host.index(after: colon)...]), (0...65535).contains(port) else {
            return (host[...], nil)
        }
        return (host[..<colon], port)
    }

    /// The destination for a request's Host header (port 80 when neither the Host nor a traffic
    /// match gives one, as an HTTP client would).
    func destination(forHost rawHost: String) -> SocketAddress {
        let host = rawHost.lowercased()
        if let found = byHost[host] { return found }
        let (name, port) = LocalModeResolver.splitPort(host)
        if let port, let found = byHost[String(name)] { return SocketAddress(ip: found.ip, port: port) }
        // An address as the host: the app dialled it (egress passes it through when on).
        if LocalModeResolver.isIPv4(name) { return SocketAddress(ip: String(name), port: port ?? 80) }
        if let ip = outside[String(name)] { return SocketAddress(ip: ip, port: port ?? 80) }
        return SocketAddress(ip: LocalModeResolver.unknownIP, port: port ?? 80)
    }
}
