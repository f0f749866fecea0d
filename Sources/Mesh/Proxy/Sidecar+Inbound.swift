import MeshModel

// MARK: - Inbound (peer → this sidecar → local app)

extension Sidecar {
    static let forbiddenResponse = HTTPResponseHead(status: 403)
    static let appUnreachableResponse = HTTPResponseHead(status: 503)

    /// A peer opened a connection to `port`. `peerIdentity` comes from its mTLS certificate (nil:
    /// not in the mesh). Order as in FSM's inbound-main.js: the border (a client without a mesh
    /// identity needs an AccessControl, `InboundAdmission`; refused: `inbound.cx_no_identity`),
    /// source ranges, the port's connection quota, then (TCP ports) the TCPRoute identities.
    public mutating func inboundConnection(_ id: ConnectionID, port: Int, source: SocketAddress, peerIdentity: String?, now: MeshInstant) -> InboundConnectionDecision {
        guard let matchIndex = compiled.inboundByPort[port] else {
            counters[CounterTable.inboundNoRoute] += 1
            return .close(.noRoute)
        }
        let verdict = compiled.inbound[matchIndex].admission.verdict(peerIdentity: peerIdentity, source: source.ip)
        if verdict == .refused {
            counters[CounterTable.inboundNoIdentity] += 1
            return .close(.accessDenied)
        }
        if let ranges = compiled.inbound[matchIndex].sourceRanges {
            let parsed = AddressRange.parseIPv4(source.ip)
            guard ranges.contains(where: { $0.contains(ip: source.ip, parsed: parsed) }) else {
                counters[CounterTable.inboundAccessDenied] += 1
                return .close(.accessDenied)
            }
        }
        if let bucket = compiled.inbound[matchIndex].connectionBucket, !buckets[bucket].tryTake(now: now) {
            counters[CounterTable.inboundRateLimitedConnections] += 1
            if let counter = compiled.inbound[matchIndex].connectionRateLimitedCounter { counters[counter] += 1 }
            return .close(.rateLimited)
        }
        if verdict == .meshPeer, !compiled.inbound[matchIndex].isHTTP, let allowed = compiled.inbound[matchIndex].allowedEndpoints {
            guard let peerIdentity, allowed.contains(peerIdentity) else {
                counters[CounterTable.inboundAccessDenied] += 1
                return .close(.accessDenied)
            }
        }
        if inboundConnections.insert(id.rawValue).inserted {
            counters[CounterTable.inboundCxActive] += 1
        }
        counters[CounterTable.inboundCxTotal] += 1
        return .accept
    }

    /// A connection without TLS reached the inbound listener before its port is known (local mode,
    /// where the first request names it): whether some port admits `source` without an identity,
    /// so that the shell lets its plaintext through to `inboundConnection`, which decides for the
    /// port. Refused (no AccessControl admits it): counted as `inbound.cx_no_identity`.
    public mutating func inboundPlaintextAdmissible(source: SocketAddress) -> Bool {
        let admitted = compiled.inbound.contains { $0.admission.verdict(peerIdentity: nil, source: source.ip) == .accessControl }
        if !admitted { counters[CounterTable.inboundNoIdentity] += 1 }
        return admitted
    }

    public mutating func inboundConnectionClosed(_ id: ConnectionID) {
        serverTraces[id.rawValue] = nil
        if inboundConnections.remove(id.rawValue) != nil {
            counters[CounterTable.inboundCxActive] -= 1
        }
    }

    /// A request arrived on an accepted inbound connection: it runs through the port's filter
    /// chain (route, access, the service then route rate limits), then the router picks the
    /// local endpoint.
    public mutating func inboundRequest(_ head: HTTPRequestHead, connection: ConnectionID, port: Int, peerIdentity: String?, now: MeshInstant) -> InboundHTTPDecision {
        counters[CounterTable.inboundRqTotal] += 1
        guard let matchIndex = compiled.inboundByPort[port], compiled.inbound[matchIndex].isHTTP else {
            counters[CounterTable.inboundNoRoute] += 1
            return .respond(Sidecar.noResponse, .noRoute)
        }
        if compiled.inbound[matchIndex].admission.routesByAccessControl(peerIdentity: peerIdentity), let targets = compiled.inbound[matchIndex].admission.targets {
            return accessControlRoute(targets, matchIndex: matchIndex)
        }
        let input = FilterInput(compiled.inbound, at: matchIndex, now: now)
        var request = FilterRequest(head: head, peerIdentity: peerIdentity, listenerPort: port)
        var noDraws = NoRandomness()
        switch compiled.inboundChain.decode(&request, input, counters: &counters, buckets: &buckets, random: &noDraws) {
        case let .localReply(response, reason):
            return .respond(response, reason)
        case .hold:
            // No inbound chain holds (none has a fault filter): a shell answers an inbound request at once.
            return .respond(Sidecar.upstreamFailureResponse, .upstreamFailure)
        case .toRouter:
            break
        }
        guard let targets = input.targets(of: request), let cluster = pick(targets) else { return .respond(Sidecar.noEndpointsResponse, .noEndpoints) }
        useCluster(cluster)
        guard let endpoint = clusters[cluster].endpointBalancer.next() else {
            return .respond(Sidecar.noEndpointsResponse, .noEndpoints)
        }
        clusters[cluster].counters.upstreamRqTotal += 1
        traceInbound(head, connection: connection, peerIdentity: peerIdentity, now: now)
        return .forward(cluster: compiled.clusters[cluster].name, endpoint: compiled.clusters[cluster].endpoints[endpoint],
                        appProtocol: input.listener.appProtocol)
    }

    /// An AccessControl's wildcard route (FSM: no route matches, `AllowedPrincipals` of the
    /// admitted sources): straight to the port's local cluster.
    private mutating func accessControlRoute(_ targets: TargetSet, matchIndex: Int) -> InboundHTTPDecision {
        guard let cluster = pick(targets) else { return .respond(Sidecar.noEndpointsResponse, .noEndpoints) }
        useCluster(cluster)
        guard let endpoint = clusters[cluster].endpointBalancer.next() else {
            return .respond(Sidecar.noEndpointsResponse, .noEndpoints)
        }
        clusters[cluster].counters.upstreamRqTotal += 1
        return .forward(cluster: compiled.clusters[cluster].name, endpoint: compiled.clusters[cluster].endpoints[endpoint],
                        appProtocol: compiled.inbound[matchIndex].appProtocol)
    }

    /// A forwarded request found nothing listening behind the sidecar (the app refused or could
    /// not be reached): the answer the peer gets, 503, counted as `inbound.app_unreachable`.
    public mutating func inboundAppUnreachable(port: Int) -> HTTPResponseHead {
        counters[CounterTable.inboundAppUnreachable] += 1
        counters[CounterTable.inboundRq1xx + 4] += 1
        return Sidecar.appUnreachableResponse
    }

    /// The local app answered a forwarded request (metrics only).
    /// The app answered a forwarded request (on `connection`, at `now`, when the shell says: the
    /// request's server span ends then).
    public mutating func inboundResponse(port: Int, status: Int, latency: MeshDuration, connection: ConnectionID? = nil, now: MeshInstant? = nil) {
        if let connection, let now { finishServerTrace(connection: connection, status: status, now: now) }
        guard (100..<600).contains(status) else { return }
        counters[CounterTable.inboundRq1xx + status / 100 - 1] += 1
    }
}
