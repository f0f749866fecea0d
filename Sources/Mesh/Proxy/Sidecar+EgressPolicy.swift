import MeshModel

/// The Egress policy API at the sidecar (guides 3.8.1, demos.md 6.3; `Spec.EgressPolicy`): a
/// destination no traffic match claims goes out when a rule of `EgressPolicyTable` allows it,
/// before passthrough is considered. Allowed traffic goes to the destination the app dialled
/// (E5015's original destination; a host name was resolved by the app, or by the shell in local
/// mode, E5016) through the passthrough cluster of that destination, with the rule's
/// UpstreamTrafficSetting limits. A request to a host a rule names on a route none allows gets
/// FSM's 403 `Access denied`; anything else no rule names is refused as before (no route, or
/// passthrough with `enableEgress`).
extension Sidecar {
    /// Its length stated, as Pipy's answer states it (the demo's `content-length: 13`).
    static let egressForbiddenResponse = HTTPResponseHead(status: 403, headers: [HTTPHeader(name: "content-length", value: "13")], body: "Access denied")
    static let egressPolicyAllowedCounter = "outbound.egress_policy_allowed"
    static let egressPolicyDeniedCounter = "outbound.egress_policy_denied"

    /// An HTTP request no traffic match claims: handled here when a rule names its destination.
    mutating func egressPolicyRequest(_ id: ExchangeID, head: HTTPRequestHead, destination: SocketAddress, now: MeshInstant,
                                      actions: inout [OutboundHTTPAction]) -> Bool {
        switch compiled.egressPolicy.http(destination: destination, head: head) {
        case .unmatched:
            return false
        case .forbidden:
            counters[counters.index(Sidecar.egressPolicyDeniedCounter)] += 1
            actions.append(.respond(id, Sidecar.egressForbiddenResponse, local: .accessDenied, flags: ResponseFlags(.accessDenied)))
        case .allowed(let rule):
            guard let cluster = egressCluster(for: destination, rule: rule) else {
                counters[CounterTable.outboundNoRoute] += 1
                actions.append(.respond(id, Sidecar.noResponse, local: .noRoute, flags: .noRoute))
                return true
            }
            counters[counters.index(Sidecar.egressPolicyAllowedCounter)] += 1
            passThrough(id, cluster: cluster, now: now, actions: &actions)
        }
        return true
    }

    /// Whether a TCP connection to `destination` should name its TLS server (the ClientHello's
    /// SNI) before `outboundConnection`: an `https` Egress rule on its port allows by host name,
    /// and no traffic match claims it.
    public func outboundReadsServerName(to destination: SocketAddress) -> Bool {
        outboundMatch(destination: destination, host: nil) == nil && compiled.egressPolicy.readsServerName(to: destination)
    }

    /// A TCP connection no traffic match claims: the passthrough cluster of its destination when
    /// a rule allows it (TLS: by `serverName`), or passthrough allows it; nil otherwise.
    mutating func egressConnectionCluster(destination: SocketAddress, serverName: String?) -> Int? {
        if let rule = compiled.egressPolicy.connection(destination: destination, serverName: serverName) {
            counters[counters.index(Sidecar.egressPolicyAllowedCounter)] += 1
            return egressCluster(for: destination, rule: rule)
        }
        guard let cluster = egressCluster(for: destination) else { return nil }
        counters[CounterTable.outboundEgress] += 1
        return cluster
    }

    /// The destination's passthrough cluster, made with the rule's limits on first use.
    private mutating func egressCluster(for destination: SocketAddress, rule: Int) -> Int? {
        let settings = compiled.egressPolicy.rules[rule]
        return egressCluster(for: destination, allowed: true, limits: settings.limits, connectTimeout: settings.connectTimeout)
    }
}
