import MeshModel

/// The gateway's routing, the first filter of an HTTP(S) listener's chain: the first virtual
/// host whose hostname matches the request's Host (the controller's precedence order: exact
/// names, then wildcards from the longest suffix, then `*`), then the first of its rules whose
/// match holds. Neither: 404 with no body (docs/DECISIONS.md 140). The chosen rule's filters and
/// backends are in the listener's table at the same indices (`FilterInput.targets(of:)`).
struct GatewayRouteFilter: HTTPFilterHooks {
    /// Parallel to the listener table's services.
    var hosts: [GatewayHostPattern]
    /// Per host, parallel to its rules.
    var matches: [[GatewayRequestMatch]]

    static let notFound = HTTPResponseHead(status: 404, headers: [HTTPHeader(name: "content-length", value: "0")])
    static let noRouteCounter = "gateway.no_route"

    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome {
        guard let (host, rule) = route(request.head) else {
            counters[counters.index(GatewayRouteFilter.noRouteCounter)] += 1
            return .localReply(GatewayRouteFilter.notFound, .noRoute)
        }
        request.route = SelectedRoute(service: host, rule: rule)
        request.matchedPrefix = matches[host][rule].matchedPrefix
        return .proceed
    }

    /// The virtual host and rule for a request, by index.
    func route(_ head: HTTPRequestHead) -> (host: Int, rule: Int)? {
        let name = GatewayHostPattern.hostName(head.authority)
        guard let host = hosts.firstIndex(where: { $0.matches(host: name) }),
              let rule = matches[host].firstIndex(where: { $0.matches(head) })
        else { return nil }
        return (host, rule)
    }
}
