import MeshModel

/// The Gateway API's RequestRedirect: a local reply (301 or 302) whose `Location` is the request's
/// URL with the configured parts replaced. What is not configured comes from the request: the
/// listener's scheme, the Host without its port, the path (with its query). The port is the
/// configured one, else the scheme's well-known port when a scheme is configured, else the
/// listener's; it is left out of `Location` when it is the scheme's own (http 80, https 443).
struct RequestRedirectFilter: HTTPFilterHooks {
    var scheme: String?
    var hostname: String?
    var path: PathModifier?
    var port: Int?
    var statusCode = 302

    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome {
        .localReply(HTTPResponseHead(status: statusCode, headers: [HTTPHeader(name: "Location", value: location(for: request))]), .redirect)
    }

    func location(for request: FilterRequest) -> String {
        let scheme = self.scheme ?? request.listenerScheme.rawValue
        let host = hostname ?? RequestRedirectFilter.hostWithoutPort(request.head.authority)
        let port = self.port ?? (self.scheme.flatMap(RequestRedirectFilter.wellKnownPort) ?? request.listenerPort)
        let (current, query) = PathModifier.split(request.head.path)
        let newPath = path.map { $0.apply(to: current, matchedPrefix: request.matchedPrefix) } ?? String(current)
        let portPart = RequestRedirectFilter.wellKnownPort(scheme) == port ? "" : ":\(port)"
        return "\(scheme)://\(host)\(portPart)\(newPath)\(query)"
    }

    static func wellKnownPort(_ scheme: String) -> Int? {
        switch scheme {
        case "http": 80
        case "https": 443
        default: nil
        }
    }

    /// `host:port` → `host`; `[v6]:port` → `[v6]`; a bare host as it is.
    static func hostWithoutPort(_ authority: String) -> String {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return authority }
            return String(authority[...close])
        }
        guard let colon = authority.lastIndex(of: ":") else { return authority }
        return String(authority[..<colon])
    }
}
