import MeshModel

/// The gateway: the same engine as the sidecar, configured by a `GatewayConfig` instead of a
/// `ProxyConfig`, with entry points for its listener shape. An HTTP request runs its listener's
/// chain (access control on the port, routing by Host and rule, the rule's policies and route
/// filters), then the sidecar's router, pool, retries and breaker; its upstream events (responses,
/// connects, losses, timers) go through the sidecar's own event functions and come back as the
/// same `OutboundHTTPAction`s, plus `rewriteRequest` and `mirror`.
///
/// Contract with the shell, beyond the sidecar's:
/// - `rewriteRequest(id, head)`: send that head upstream (every routed request gets one: the
///   gateway adds `x-forwarded-for`); `mirror(...)`: send a copy there, ignore its answer.
/// - `respond` of an upstream answer carries the head the client gets (ResponseHeaderModifier
///   applied, a sticky session's `set-cookie` added): the shell sends that head with the
///   upstream's body.
/// - `gatewayTLS` before a TLS handshake; `gatewayConnection` for L4 listeners; a connection's
///   upstream TLS from `gatewayUpstreamSecurity(cluster:)`.
extension Sidecar {
    public mutating func applyGateway(_ config: GatewayConfig) -> ConfigApplyResult {
        let next: CompiledConfig
        do {
            next = try CompiledConfig.compile(gateway: config)
        } catch {
            counters[CounterTable.configRejected] += 1
            return .rejected(reason: error.description)
        }
        carryState(into: next)
        compiled = next
        gatewayConfig = config
        leastConnectionTurns = [:]
        gatewayHealth = [:]
        for (cluster, policy) in next.gateway?.clusterPolicies ?? [:] {
            if let check = policy.healthCheck, check.interval <= 0 { gatewayHealth[cluster] = PassiveHealth(check, endpoints: next.clusters[cluster].endpoints.count) }
        }
        armHealthChecks(next)
        counters[CounterTable.configApplied] += 1
        return .applied(version: config.version)
    }

    /// A client's request on the HTTP(S) listener at `listenerPort`; `sni` is the TLS server name
    /// of an HTTPS connection (it picks the listener of a port with several).
    public mutating func gatewayRequest(_ id: ExchangeID, head: HTTPRequestHead, listenerPort: Int, source: SocketAddress, sni: String?, now: MeshInstant,
                                        random: inout some RandomNumberGenerator) -> [OutboundHTTPAction] {
        var actions = takeDeferredActions()
        guard exchanges[id.rawValue] == nil, heldRequests[id.rawValue] == nil else { return actions }
        guard let listener = compiled.gateway?.listener(port: listenerPort, serverName: sni ?? head.authority), compiled.gateway!.listeners[listener].isHTTP else {
            counters[counters.index(GatewayRouteFilter.noRouteCounter)] += 1
            actions.append(.respond(id, GatewayRouteFilter.notFound, local: .noRoute, flags: .noRoute))
            return actions
        }
        var request = FilterRequest(head: head, listenerPort: listenerPort)
        request.sourceIP = source.ip
        request.listenerScheme = compiled.gateway!.listeners[listener].listenerProtocol == .https ? .https : .http
        runGatewayChain(id, &request, original: head, source: source, listener: listener, from: .start, now: now, random: &random, actions: &actions)
        return actions
    }

    /// Runs the listener's chain from `start`, then routes: the rewritten head and mirrors, the
    /// endpoint the cluster's policy prefers, the router.
    mutating func runGatewayChain(_ id: ExchangeID, _ request: inout FilterRequest, original: HTTPRequestHead, source: SocketAddress, listener: Int, from start: ChainPosition,
                                  now: MeshInstant, random: inout some RandomNumberGenerator, actions: inout [OutboundHTTPAction]) {
        let compiledListener = compiled.gateway!.listeners[listener]
        let input = FilterInput(listener: compiledListener.table, now: now)
        switch compiledListener.chain.decode(&request, input, from: start, counters: &counters, buckets: &buckets, random: &random) {
        case let .localReply(response, reason):
            actions.append(.respond(id, Sidecar.statingLength(response), local: reason, flags: ResponseFlags(reason)))
        case let .hold(delay, resumeAt):
            heldRequests[id.rawValue] = HeldRequest(request: request, original: original, destination: source, match: listener, resumeAt: resumeAt,
                                                    configGeneration: counters[CounterTable.configApplied], isGateway: true)
            actions.append(.startTimer(.filterResume(id), after: delay))
        case .toRouter:
            guard let route = request.route, let targets = input.targets(of: request), let cluster = pick(targets) else {
                // Every backend of the rule is unresolved (or weighs 0): the Gateway API's 500.
                actions.append(.respond(id, Sidecar.gatewayNoBackendResponse, local: .noEndpoints, flags: .noHealthyUpstream))
                return
            }
            let forwarded = Sidecar.forwardedHead(request.head, client: source)
            actions.append(.rewriteRequest(id, forwarded))
            for mirror in request.mirrors { mirrorRequest(id, mirror, client: source, actions: &actions) }
            var responseFilters = compiledListener.chain.responseFilters(for: request, input)
            let preferred = preferredEndpoint(cluster: cluster, head: forwarded, source: source, now: now, responseFilters: &responseFilters)
            let appProtocol: AppProtocol = compiledListener.grpcRules[route.service][route.rule] ? .grpc : .http
            routerTakes(id, cluster: cluster, responseFilters: responseFilters, appProtocol: appProtocol, preferredEndpoint: preferred, now: now, actions: &actions)
        }
    }

    /// A held gateway request's timer fired: its chain goes on; after a config change the request
    /// as the client sent it is routed anew, its delay done.
    mutating func resumeHeldGatewayRequest(_ id: ExchangeID, now: MeshInstant, random: inout some RandomNumberGenerator, actions: inout [OutboundHTTPAction]) {
        guard let held = heldRequests.removeValue(forKey: id.rawValue) else { return }
        if held.configGeneration == counters[CounterTable.configApplied] {
            var request = held.request
            runGatewayChain(id, &request, original: held.original, source: held.destination, listener: held.match, from: held.resumeAt, now: now, random: &random, actions: &actions)
            return
        }
        let port = held.request.listenerPort
        guard let listener = compiled.gateway?.listener(port: port, serverName: held.original.authority), compiled.gateway!.listeners[listener].isHTTP else {
            actions.append(.respond(id, GatewayRouteFilter.notFound, local: .noRoute, flags: .noRoute))
            return
        }
        var request = FilterRequest(head: held.original, listenerPort: port)
        request.sourceIP = held.destination.ip
        request.listenerScheme = held.request.listenerScheme
        request.faultDelayed = true
        request.uploadPaced = held.request.uploadPaced
        runGatewayChain(id, &request, original: held.original, source: held.destination, listener: listener, from: .start, now: now, random: &random, actions: &actions)
    }

    /// A gateway's own answer states its length (`content-length: 0` for a redirect or an abort
    /// without a message), as FSM Gateway's answers do (G3).
    static func statingLength(_ response: HTTPResponseHead) -> HTTPResponseHead {
        guard response.header("content-length") == nil else { return response }
        var head = response
        head.headers.append(HTTPHeader(name: "content-length", value: String(response.body?.utf8.count ?? 0)))
        return head
    }

    /// Rule backends all unresolved: 500 with no body (Gateway API: an invalid backendRef).
    static let gatewayNoBackendResponse = HTTPResponseHead(status: 500, headers: [HTTPHeader(name: "content-length", value: "0")])

    /// The head the upstream gets: the client's address appended to `x-forwarded-for` (G2).
    static func forwardedHead(_ head: HTTPRequestHead, client: SocketAddress) -> HTTPRequestHead {
        var result = head
        if let index = result.headers.firstIndex(where: { asciiCaseInsensitiveEquals($0.name, "x-forwarded-for") }) {
            result.headers[index].value += ", " + client.ip
        } else {
            result.headers.append(HTTPHeader(name: "x-forwarded-for", value: client.ip))
        }
        return result
    }

    /// A mirror's copy goes to the mirror cluster's next endpoint (none: no copy).
    mutating func mirrorRequest(_ id: ExchangeID, _ mirror: MirrorRequest, client: SocketAddress, actions: inout [OutboundHTTPAction]) {
        guard let cluster = compiled.clusterIndex(named: mirror.cluster), !compiled.clusters[cluster].endpoints.isEmpty else { return }
        useCluster(cluster)
        guard let endpoint = clusters[cluster].endpointBalancer.next() else { return }
        counters[counters.index("gateway.mirrored")] += 1
        actions.append(.mirror(id, cluster: mirror.cluster, endpoint: compiled.clusters[cluster].endpoints[endpoint],
                               head: Sidecar.forwardedHead(mirror.head, client: client)))
    }
}

// MARK: - L4 and TLS

extension Sidecar {
    /// A new connection on an L4 listener (TCP, UDP, TLS passthrough by `sni`, TLS terminated to
    /// a TCPRoute): the endpoint to relay to, or why not.
    public mutating func gatewayConnection(_ id: ConnectionID, listenerPort: Int, source: SocketAddress, sni: String?, now: MeshInstant,
                                           random: inout some RandomNumberGenerator) -> GatewayConnectionDecision {
        guard let gateway = compiled.gateway, let index = gateway.listener(port: listenerPort, serverName: sni) else { return .reject(.noRoute) }
        let listener = gateway.listeners[index]
        if let access = listener.accessControl, !access.admits(source.ip) {
            counters[counters.index(GatewayAccessControlFilter.deniedCounter)] += 1
            return .reject(.accessDenied)
        }
        let targets: TargetSet?
        if listener.tls?.mode == .passthrough {
            let name = sni.map(GatewayHostPattern.hostName)
            targets = name.flatMap { name in listener.sniRoutes.first { $0.host.matches(host: name) }?.targets }
        } else {
            targets = listener.l4Targets
        }
        guard let targets, let cluster = pick(targets) else {
            counters[counters.index(GatewayRouteFilter.noRouteCounter)] += 1
            return .reject(.noRoute)
        }
        guard !compiled.clusters[cluster].endpoints.isEmpty else { return .reject(.noEndpoints) }
        useCluster(cluster)
        guard let endpoint = clusters[cluster].endpointBalancer.next() else { return .reject(.noEndpoints) }
        return .connect(cluster: compiled.clusters[cluster].name, endpoint: compiled.clusters[cluster].endpoints[endpoint])
    }

    /// What the listener at `listenerPort` does in a TLS handshake for `sni`: present the
    /// listener's first certificate (the listener whose hostname matches the SNI, else the one
    /// without a hostname), pass the bytes through, or fail the handshake.
    public func gatewayTLS(listenerPort: Int, sni: String?) -> GatewayTLSChoice {
        guard let gateway = compiled.gateway, let index = gateway.listener(port: listenerPort, serverName: sni) else {
            return compiled.gateway?.listenersByPort[listenerPort] == nil ? .plaintext : .reject(.noCertificate)
        }
        guard let tls = gateway.listeners[index].tls else { return .plaintext }
        switch tls.mode {
        case .passthrough:
            return .passthrough
        case .terminate:
            guard let certificate = tls.certificates.first else { return .reject(.noCertificate) }
            return .terminate(certificate: certificate, clientCA: tls.requireClientCertificate ? tls.clientCA : nil)
        }
    }

    /// How to speak to the endpoints of `cluster` (a `send`'s or `mirror`'s cluster name).
    public func gatewayUpstreamSecurity(cluster: String) -> GatewayUpstreamSecurity {
        guard let index = compiled.clusterIndex(named: cluster) else { return .plaintext }
        return compiled.gateway?.clusterPolicies[index]?.security ?? .plaintext
    }

    /// The protocol of the listener at `listenerPort` (its first, when several share the port):
    /// a shell serves HTTP and HTTPS ports with `gatewayRequest`, the others with `gatewayConnection`.
    public func gatewayListenerProtocol(port: Int) -> GatewayListenerProtocol? {
        guard let gateway = compiled.gateway, let index = gateway.listenersByPort[port]?.first else { return nil }
        return gateway.listeners[index].listenerProtocol
    }

    /// RateLimitPolicy's bytes per second on a port (each way), for the shell to pace the relay.
    public func gatewayBytesPerSecond(listenerPort: Int) -> Int? {
        guard let gateway = compiled.gateway, let index = gateway.listenersByPort[listenerPort]?.first else { return nil }
        return gateway.listeners[index].bytesPerSecond
    }
}
