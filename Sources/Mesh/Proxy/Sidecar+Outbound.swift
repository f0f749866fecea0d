import MeshModel

// MARK: - Outbound HTTP

extension Sidecar {
    /// Only an overflow (the cluster's request or pending limit, Envoy's circuit breakers) is marked
    /// overloaded, as Envoy marks `x-envoy-overloaded`; no endpoint or a failed upstream is a plain
    /// 503 (its reason is in the stats and the log), so a client does not back off from a pod that is
    /// simply gone.
    static let overloadedHeaders = [HTTPHeader(name: "x-fsm-overloaded", value: "true")]
    static let noEndpointsResponse = HTTPResponseHead(status: 503)
    static let overloadedResponse = HTTPResponseHead(status: 503, headers: overloadedHeaders)
    static let upstreamFailureResponse = HTTPResponseHead(status: 503)
    static let perTryTimeoutResponse = HTTPResponseHead(status: 504)
    static let requestTimeoutResponse = HTTPResponseHead(status: 504)
    static let notFoundResponse = HTTPResponseHead(status: 404)
    static let noResponse = HTTPResponseHead(status: 0)

    /// The app sent a request to `destination` (the original destination, a cluster IP and port).
    public mutating func outboundRequest(_ id: ExchangeID, head: HTTPRequestHead, destination: SocketAddress, now: MeshInstant, random: inout some RandomNumberGenerator) -> [OutboundHTTPAction] {
        var actions = Sidecar.actionList()
        outboundRequest(id, head: head, destination: destination, now: now, random: &random, into: &actions)
        return actions
    }

    /// `outboundRequest(_:head:destination:now:random:)`, appending its actions to `actions`: a
    /// shell that keeps one list across calls (emptied after it carried them out, its capacity
    /// kept) allocates no list per call. The same holds for every `into:` variant.
    public mutating func outboundRequest(_ id: ExchangeID, head: HTTPRequestHead, destination: SocketAddress, now: MeshInstant, random: inout some RandomNumberGenerator,
                                         into actions: inout [OutboundHTTPAction]) {
        let start = actions.count
        takeDeferredActions(into: &actions)
        defer { finishClientTraces(actions, from: start, now: now) }
        // A number already in use is a shell bug; the exchange in progress keeps it.
        guard exchanges[id.rawValue] == nil, heldRequests.isEmpty || heldRequests[id.rawValue] == nil else { return }
        guard let matchIndex = outboundMatch(destination: destination, host: head.authority) else {
            if egressPolicyRequest(id, head: head, destination: destination, now: now, actions: &actions) { return }
            if let cluster = egressCluster(for: destination) {
                counters[CounterTable.outboundEgress] += 1
                passThrough(id, cluster: cluster, now: now, actions: &actions)
                return
            }
            // No traffic match: FSM closes the connection (the demos' "status 0").
            counters[CounterTable.outboundNoRoute] += 1
            actions.append(.respond(id, Sidecar.noResponse, local: .noRoute, flags: .noRoute))
            return
        }
        if compiled.outbound[matchIndex].isHTTP {
            traceOutbound(id, head: head, now: now, random: &random, actions: &actions)
            var request = FilterRequest(head: head, listenerPort: compiled.outbound[matchIndex].port)
            runOutboundChain(id, &request, original: head, match: matchIndex, from: .start, destination: destination, now: now, random: &random, actions: &actions)
        } else if let targets = compiled.outbound[matchIndex].tcpTargets, let cluster = pick(targets) {
            // HTTP spoken to a TCP port: it is passed to the port's TCP target.
            routerTakes(id, cluster: cluster, responseFilters: [], appProtocol: compiled.outbound[matchIndex].appProtocol, now: now, actions: &actions)
        } else {
            counters[CounterTable.outboundNoRoute] += 1
            actions.append(.respond(id, Sidecar.noResponse, local: .noRoute, flags: .noRoute))
        }
    }

    /// The router's part of a request that reaches a cluster: its circuit breaker, the exchange and
    /// its route timeout, then the connection pool. Its local answers run back through
    /// `responseFilters`, the filters with a response side the request passed.
    mutating func routerTakes(_ id: ExchangeID, cluster: Int, responseFilters: [HTTPFilter], appProtocol: AppProtocol, preferredEndpoint: Int? = nil, now: MeshInstant,
                              actions: inout [OutboundHTTPAction]) {
        guard !compiled.clusters[cluster].endpoints.isEmpty else {
            actions.append(.respond(id, HTTPFilterChain.encoded(Sidecar.noEndpointsResponse, through: responseFilters), local: .noEndpoints, flags: .noHealthyUpstream))
            return
        }
        useCluster(cluster)
        var admitted = false
        if clusters[cluster].breaker != nil {
            guard clusters[cluster].breaker!.admit(now: now) else {
                clusters[cluster].counters.upstreamRqCircuitOpen += 1
                actions.append(.respond(id, HTTPFilterChain.encoded(clusters[cluster].breaker!.degradedResponse, through: responseFilters), local: .circuitOpen,
                                        flags: .upstreamOverflow))
                return
            }
            admitted = true
        }
        let timeout = compiled.clusters[cluster].requestTimeout
        exchanges[id.rawValue] = Exchange(cluster: cluster, startedAt: now, admittedByBreaker: admitted, hasRequestTimer: timeout != nil, appProtocol: appProtocol,
                                          responseFilters: responseFilters, preferredEndpoint: preferredEndpoint)
        if let timeout { actions.append(.startTimer(.requestTimeout(id), after: timeout)) }
        dispatch(id.rawValue, actions: &actions)
    }

    /// The response (or, with status 0, the transport failure) of one attempt. Responses of
    /// attempts the engine no longer waits for are ignored.
    public mutating func upstreamResponse(_ id: ExchangeID, attempt: Int, head: HTTPResponseHead, now: MeshInstant, random: inout some RandomNumberGenerator) -> [OutboundHTTPAction] {
        var actions = Sidecar.actionList()
        attemptOver(id, attempt: attempt, head: head, connectFailed: false, now: now, random: &random, into: &actions)
        return actions
    }

    /// `upstreamResponse(_:attempt:head:now:random:)`, appending its actions to `actions`.
    public mutating func upstreamResponse(_ id: ExchangeID, attempt: Int, head: HTTPResponseHead, now: MeshInstant, random: inout some RandomNumberGenerator,
                                          into actions: inout [OutboundHTTPAction]) {
        attemptOver(id, attempt: attempt, head: head, connectFailed: false, now: now, random: &random, into: &actions)
    }

    /// The attempt's connection could not be opened (refused, connect timeout): like a response
    /// with status 0 (a reset), except that `retryOn: connect-failure` retries this one too.
    public mutating func upstreamConnectFailed(_ id: ExchangeID, attempt: Int, now: MeshInstant, random: inout some RandomNumberGenerator) -> [OutboundHTTPAction] {
        var actions = Sidecar.actionList()
        attemptOver(id, attempt: attempt, head: Sidecar.noResponse, connectFailed: true, now: now, random: &random, into: &actions)
        return actions
    }

    /// `upstreamConnectFailed(_:attempt:now:random:)`, appending its actions to `actions`.
    public mutating func upstreamConnectFailed(_ id: ExchangeID, attempt: Int, now: MeshInstant, random: inout some RandomNumberGenerator,
                                               into actions: inout [OutboundHTTPAction]) {
        attemptOver(id, attempt: attempt, head: Sidecar.noResponse, connectFailed: true, now: now, random: &random, into: &actions)
    }

    private mutating func attemptOver(_ id: ExchangeID, attempt: Int, head: HTTPResponseHead, connectFailed: Bool, now: MeshInstant,
                                      random: inout some RandomNumberGenerator, into actions: inout [OutboundHTTPAction]) {
        let start = actions.count
        takeDeferredActions(into: &actions)
        defer { finishClientTraces(actions, from: start, now: now) }
        guard let e = exchanges.index(forKey: id.rawValue), let ended = exchanges[e].endAttempt(attempt) else { return }
        let (cluster, connection) = (ended.cluster, ended.connection)
        if cluster >= 0 {
            clusters[cluster].counters.upstreamRqActive -= 1
            clusters[cluster].counters.countStatus(head.status)
            if head.status == 0 { clusters[cluster].counters.upstreamRqRxReset += 1 }
        }
        let outcome: ConnectionOutcome
        if head.status == 0 {
            outcome = .gone
        } else if let connectionHeader = head.header("connection"), asciiCaseInsensitiveEquals(connectionHeader, "close") {
            outcome = .close
        } else {
            outcome = .reusable
        }
        releaseConnection(connection, outcome: outcome, actions: &actions)
        attemptEnded(id.rawValue, status: head.status, response: head, timedOut: false, connectFailed: connectFailed, now: now, random: &random, actions: &actions)
    }

    public mutating func timerFired(_ timer: ProxyTimer, now: MeshInstant, random: inout some RandomNumberGenerator) -> [OutboundHTTPAction] {
        var actions = Sidecar.actionList()
        timerFired(timer, now: now, random: &random, into: &actions)
        return actions
    }

    /// `timerFired(_:now:random:)`, appending its actions to `actions`.
    public mutating func timerFired(_ timer: ProxyTimer, now: MeshInstant, random: inout some RandomNumberGenerator, into actions: inout [OutboundHTTPAction]) {
        let start = actions.count
        takeDeferredActions(into: &actions)
        defer { finishClientTraces(actions, from: start, now: now) }
        switch timer {
        case let .retryBackoff(id):
            guard exchanges[id.rawValue]?.phase == .backoff else { break }
            dispatch(id.rawValue, actions: &actions)
        case let .perTryTimeout(id, attempt):
            guard let exchange = exchanges[id.rawValue], exchange.phase == .inFlight, exchange.attempt == attempt else { break }
            if exchange.cluster >= 0 {
                clusters[exchange.cluster].counters.upstreamRqActive -= 1
                clusters[exchange.cluster].counters.upstreamRqPerTryTimeout += 1
            }
            exchanges[id.rawValue]!.phase = .backoff
            // The attempt is abandoned mid-response: its HTTP/1.1 connection cannot be reused.
            releaseConnection(exchange.connection, outcome: .close, actions: &actions)
            attemptEnded(id.rawValue, status: 0, response: nil, timedOut: true, now: now, random: &random, actions: &actions)
        case let .requestTimeout(id):
            requestTimedOut(id.rawValue, now: now, actions: &actions)
        case let .filterResume(id):
            resumeHeldRequest(id, now: now, random: &random, actions: &actions)
        case let .healthRound(cluster, generation):
            healthRound(cluster: cluster, generation: generation, actions: &actions)
        case let .healthProbeTimeout(id):
            finishHealthProbe(id, .failed)
        case let .connectTimeout(connection):
            guard let open = connections[connection.rawValue], open.hasConnectTimer, !open.connected else { break }
            connections[connection.rawValue]!.hasConnectTimer = false
            if open.cluster >= 0 { clusters[open.cluster].counters.upstreamCxConnectTimeout += 1 }
            // The shell abandons the connect; the attempt on it fails as a connect failure would.
            actions.append(.closeUpstream(connection))
            upstreamConnectionLost(connection, connectFailed: true, now: now, random: &random, into: &actions)
        }
    }

    /// A connection the engine asked for is open: its connect deadline no longer matters.
    public mutating func upstreamConnected(_ connection: UpstreamConnectionID) -> [OutboundHTTPAction] {
        var actions: [OutboundHTTPAction] = []
        upstreamConnected(connection, into: &actions)
        return actions
    }

    /// `upstreamConnected(_:)`, appending its actions to `actions`.
    public mutating func upstreamConnected(_ connection: UpstreamConnectionID, into actions: inout [OutboundHTTPAction]) {
        guard connections[connection.rawValue]?.connected == false else { return }
        connections[connection.rawValue]!.connected = true
        settleConnectTimer(connection.rawValue, actions: &actions)
    }

    /// The route timeout passed before the final answer: whatever the exchange waits for (a
    /// connection, a response, a retry's backoff) is abandoned, and the app gets 504. An attempt
    /// in flight is abandoned mid-response, so its HTTP/1.1 connection is closed.
    private mutating func requestTimedOut(_ id: UInt64, now: MeshInstant, actions: inout [OutboundHTTPAction]) {
        guard let exchange = exchanges[id] else { return }
        exchanges[id]!.hasRequestTimer = false
        let cluster = exchange.cluster
        if cluster >= 0 {
            clusters[cluster].counters.upstreamRqTimeout += 1
            switch exchange.phase {
            case .pending: clusters[cluster].counters.upstreamRqPendingActive -= 1
            case .inFlight: clusters[cluster].counters.upstreamRqActive -= 1
            case .backoff: break
            }
        }
        // No longer in flight, so the capacity its connection frees goes to the queue.
        exchanges[id]!.phase = .backoff
        if exchange.phase == .inFlight { releaseConnection(exchange.connection, outcome: .close, actions: &actions) }
        finish(id, Sidecar.requestTimeoutResponse, local: .requestTimeout, now: now, actions: &actions)
    }

    /// The app went away: forget the exchange, closing the connection of an attempt in flight.
    public mutating func cancelOutbound(_ id: ExchangeID) -> [OutboundHTTPAction] {
        var actions = takeDeferredActions()
        clientTraces[id.rawValue] = nil
        defer { finishClientTraces(actions, from: 0, now: traceClock) }
        if heldRequests.removeValue(forKey: id.rawValue) != nil { actions.append(.cancelTimer(.filterResume(id))) }
        guard let exchange = exchanges.removeValue(forKey: id.rawValue) else { return actions }
        if exchange.hasRequestTimer { actions.append(.cancelTimer(.requestTimeout(id))) }
        let cluster = exchange.cluster
        if cluster >= 0, exchange.holdsRetrySlot { clusters[cluster].activeRetries -= 1 }
        switch exchange.phase {
        case .pending:
            // Its queue entry is skipped when it reaches the head.
            if cluster >= 0 { clusters[cluster].counters.upstreamRqPendingActive -= 1 }
        case .inFlight:
            if cluster >= 0 { clusters[cluster].counters.upstreamRqActive -= 1 }
            releaseConnection(exchange.connection, outcome: .close, actions: &actions)
        case .backoff:
            break
        }
        return actions
    }

    /// The request body outgrew the shell's replay buffer while it streams upstream: no attempt
    /// can be resent, so the exchange is not retried (as Envoy stops retrying past its buffer
    /// limit). An exchange already waiting for a retry (backoff, or queued for a connection after
    /// a failed attempt) cannot get one and fails now with 503.
    public mutating func requestBodyNotReplayable(_ id: ExchangeID) -> [OutboundHTTPAction] {
        var actions = takeDeferredActions()
        defer { finishClientTraces(actions, from: 0, now: traceClock) }
        if heldRequests[id.rawValue] != nil { heldRequests[id.rawValue]!.bodyReplayable = false }
        guard let exchange = exchanges[id.rawValue] else { return actions }
        exchanges[id.rawValue]!.bodyReplayable = false
        let waitingForRetry = exchange.attempt > 0 && (exchange.phase == .backoff || exchange.phase == .pending)
        guard waitingForRetry else { return actions }
        if exchange.phase == .pending, exchange.cluster >= 0 { clusters[exchange.cluster].counters.upstreamRqPendingActive -= 1 }
        finish(id.rawValue, Sidecar.upstreamFailureResponse, local: .upstreamFailure, flags: .localReset, now: nil, actions: &actions)
        return actions
    }

    /// The peer closed an upstream connection (or its pod died), or (`connectFailed`) it could
    /// not be opened. An idle connection is forgotten; the request in progress on a busy one ends
    /// like a reset (status 0), or as a connect failure, either of which may retry.
    public mutating func upstreamConnectionLost(_ connection: UpstreamConnectionID, connectFailed: Bool = false, now: MeshInstant,
                                                random: inout some RandomNumberGenerator) -> [OutboundHTTPAction] {
        var actions = Sidecar.actionList()
        upstreamConnectionLost(connection, connectFailed: connectFailed, now: now, random: &random, into: &actions)
        return actions
    }

    /// `upstreamConnectionLost(_:connectFailed:now:random:)`, appending its actions to `actions`.
    public mutating func upstreamConnectionLost(_ connection: UpstreamConnectionID, connectFailed: Bool = false, now: MeshInstant,
                                                random: inout some RandomNumberGenerator, into actions: inout [OutboundHTTPAction]) {
        if let lost = connections[connection.rawValue], let exchangeID = lost.busyWith, let exchange = exchanges[exchangeID], exchange.phase == .inFlight {
            return attemptOver(ExchangeID(exchangeID), attempt: exchange.attempt, head: Sidecar.noResponse, connectFailed: connectFailed, now: now, random: &random,
                               into: &actions)
        }
        let start = actions.count
        takeDeferredActions(into: &actions)
        defer { finishClientTraces(actions, from: start, now: now) }
        guard let lost = connections[connection.rawValue] else { return }
        if lost.cluster >= 0 {
            clusters[lost.cluster].removeIdle(connection.rawValue, endpoint: lost.endpoint)
        }
        releaseConnection(connection.rawValue, outcome: .gone, actions: &actions)
    }

    // MARK: Outbound TCP

    /// An app opened a TCP connection to `destination` (`serverName`: the TLS server name its
    /// first bytes carried, when the shell read one). A destination no traffic match claims is
    /// egress: out to itself when an Egress policy or passthrough allows it.
    public mutating func outboundConnection(_ id: ConnectionID, destination: SocketAddress, serverName: String? = nil, now: MeshInstant,
                                            random: inout some RandomNumberGenerator) -> OutboundTCPDecision {
        // A reused number means the shell forgot to report the close of the previous one.
        outboundConnectionClosed(id)
        let cluster: Int
        if let matchIndex = outboundMatch(destination: destination, host: nil) {
            guard let targets = compiled.outbound[matchIndex].tcpTargets, let picked = pick(targets) else {
                counters[CounterTable.outboundNoRoute] += 1
                return .reject(.noRoute)
            }
            cluster = picked
        } else {
            guard let egress = egressConnectionCluster(destination: destination, serverName: serverName) else {
                counters[CounterTable.outboundNoRoute] += 1
                return .reject(.noRoute)
            }
            cluster = egress
        }
        useCluster(cluster)
        guard let endpoint = clusters[cluster].endpointBalancer.next() else { return .reject(.noEndpoints) }
        guard clusters[cluster].openConnections < compiled.clusters[cluster].limits.maxConnections else {
            clusters[cluster].counters.upstreamCxOverflow += 1
            return .reject(.connectionOverflow)
        }
        clusters[cluster].counters.upstreamCxTotal += 1
        clusters[cluster].counters.upstreamCxActive += 1
        countEgressGateway(cluster)
        outboundTCP[id.rawValue] = cluster
        return .connect(cluster: compiled.clusters[cluster].name, endpoint: compiled.clusters[cluster].endpoints[endpoint])
    }

    public mutating func outboundConnectionClosed(_ id: ConnectionID) {
        guard let cluster = outboundTCP.removeValue(forKey: id.rawValue), cluster >= 0 else { return }
        clusters[cluster].counters.upstreamCxActive -= 1
    }
}

// MARK: - Internals

extension Sidecar {
    enum ConnectionOutcome {
        /// The response completed; the connection may serve another request.
        case reusable
        /// The engine closes it (a `closeUpstream` action).
        case close
        /// Already closed by the peer or the network: just forget it.
        case gone
    }

    /// The actions a call starts with: those a config apply deferred, or an empty list with room
    /// for a request's usual few (`actionList()`).
    mutating func takeDeferredActions() -> [OutboundHTTPAction] {
        guard !deferredActions.isEmpty else { return Sidecar.actionList() }
        return takeConfigActions()
    }

    /// Appends the actions a config apply deferred, first, to a call's list.
    mutating func takeDeferredActions(into actions: inout [OutboundHTTPAction]) {
        guard !deferredActions.isEmpty else { return }
        actions += takeConfigActions()
    }

    /// An empty list with room for a request's usual few actions (a timer, a send, a cancel, a
    /// response), so that appending them does not reallocate it on the way (~2% of a simulated
    /// request).
    static func actionList() -> [OutboundHTTPAction] {
        var actions: [OutboundHTTPAction] = []
        actions.reserveCapacity(4)
        return actions
    }

    /// Whether a connection to `destination` carries HTTP: true when its traffic match is an HTTP
    /// or gRPC port, false for a TCP or TCP-server-first port, nil when no match names it. Under
    /// traffic capture the shell asks before reading a byte, so that a raw TCP connection (a
    /// server-first one sends nothing) is relayed instead of parsed.
    public func outboundCarriesHTTP(to destination: SocketAddress) -> Bool? {
        if let match = outboundMatch(destination: destination, host: nil) { return compiled.outbound[match].isHTTP }
        return compiled.egressPolicy.carriesHTTP(to: destination)
    }

    /// The outbound traffic match for a destination: by destination IP range, else (HTTP) by Host.
    func outboundMatch(destination: SocketAddress, host: String?) -> Int? {
        compiled.outbound.match(destination: destination, host: host)
    }

    static func pathWithoutQuery(_ path: String) -> Substring {
        HTTPRequestHead.pathWithoutQuery(path)
    }

    mutating func pick(_ targets: TargetSet) -> Int? {
        switch targets.clusters.count {
        case 0:
            return nil
        case 1:
            // A balancer of one item always picks it (a zero weight counts as an equal share).
            return targets.clusters[0]
        default:
            if !balancers.contains(targets.balancer) {
                balancers.insert(SmoothWeightedRoundRobin(weights: compiled.balancerWeights[targets.balancer]), at: targets.balancer)
            }
            guard let choice = balancers[targets.balancer].next() else { return nil }
            return targets.clusters[choice]
        }
    }

    /// Sends the exchange's next attempt, or queues it, or answers it locally when over a limit.
    mutating func dispatch(_ id: UInt64, actions: inout [OutboundHTTPAction]) {
        // One copy of the exchange to read (a read of each field through the table copied it whole).
        guard let exchange = exchanges[id] else { return }
        let cluster = exchange.cluster
        guard cluster >= 0 else {
            finish(id, Sidecar.noEndpointsResponse, local: .noEndpoints, now: nil, actions: &actions)
            return
        }
        let limits = compiled.clusters[cluster].limits
        guard clusters[cluster].activeRequests < limits.maxRequests else {
            clusters[cluster].counters.upstreamRqOverflow += 1
            finish(id, Sidecar.overloadedResponse, local: .requestOverflow, now: nil, actions: &actions)
            return
        }
        let preferred = exchange.attempt == 0 ? exchange.preferredEndpoint.flatMap { $0 < compiled.clusters[cluster].endpoints.count ? $0 : nil } : nil
        guard let endpoint = preferred ?? clusters[cluster].nextEndpoint(avoiding: exchange.lastEndpoint) else {
            finish(id, Sidecar.noEndpointsResponse, local: .noEndpoints, now: nil, actions: &actions)
            return
        }
        if let connection = clusters[cluster].takeIdle(preferring: endpoint, anyEndpoint: false) {
            send(id, on: connection, isNew: false, actions: &actions)
        } else if clusters[cluster].openConnections < limits.maxConnections {
            send(id, on: openConnection(cluster: cluster, endpoint: endpoint), isNew: true, actions: &actions)
        } else if let connection = clusters[cluster].takeIdle(preferring: nil, anyEndpoint: true) {
            // At the connection limit an idle connection to another endpoint beats waiting.
            send(id, on: connection, isNew: false, actions: &actions)
        } else {
            clusters[cluster].counters.upstreamCxOverflow += 1
            guard clusters[cluster].pendingCount < limits.maxPendingRequests else {
                clusters[cluster].counters.upstreamRqPendingOverflow += 1
                finish(id, Sidecar.overloadedResponse, local: .pendingOverflow, now: nil, actions: &actions)
                return
            }
            exchanges[id]!.phase = .pending
            clusters[cluster].pending.append(id)
            clusters[cluster].counters.upstreamRqPendingActive += 1
        }
    }

    mutating func openConnection(cluster: Int, endpoint: Int) -> UInt64 {
        let id = nextUpstreamConnection
        nextUpstreamConnection += 1
        connections[id] = UpstreamConnection(cluster: cluster, endpoint: endpoint, address: compiled.clusters[cluster].endpoints[endpoint])
        clusters[cluster].counters.upstreamCxTotal += 1
        clusters[cluster].counters.upstreamCxActive += 1
        return id
    }

    mutating func send(_ id: UInt64, on connectionID: UInt64, isNew: Bool, actions: inout [OutboundHTTPAction]) {
        // One lookup per table; the entries are then changed in place through their indices.
        guard let e = exchanges.index(forKey: id), let c = connections.index(forKey: connectionID) else { return }
        let (attempt, cluster, appProtocol) = exchanges[e].beginAttempt(on: connectionID, endpoint: connections[c].endpoint)
        connections[c].busyWith = id
        connections[c].requestsServed += 1
        clusters[cluster].counters.upstreamRqTotal += 1
        clusters[cluster].counters.upstreamRqActive += 1
        // The connect deadline first, so that a shell whose connect completes at once (in memory)
        // has a timer to cancel when it reports the connection open.
        if isNew, let connectTimeout = compiled.clusters[cluster].connectTimeout {
            connections[c].hasConnectTimer = true
            actions.append(.startTimer(.connectTimeout(UpstreamConnectionID(connectionID)), after: connectTimeout))
        }
        actions.append(.send(ExchangeID(id), attempt: attempt, cluster: compiled.clusters[cluster].name, endpoint: connections[c].address,
                             connection: UpstreamConnectionID(connectionID), newConnection: isNew, appProtocol: appProtocol))
        if let perTry = compiled.clusters[cluster].retry?.perTryTimeout {
            actions.append(.startTimer(.perTryTimeout(ExchangeID(id), attempt: attempt), after: perTry))
        }
    }

    /// Frees a connection after an attempt: back to idle, or closed; then lets the queue move.
    mutating func releaseConnection(_ id: UInt64, outcome: ConnectionOutcome, actions: inout [OutboundHTTPAction]) {
        guard let index = connections.index(forKey: id) else { return }
        settleConnectTimer(at: index, actions: &actions)
        var connection = connections[index]
        connection.busyWith = nil
        let cluster = connection.cluster
        var keep = outcome == .reusable && cluster >= 0 && connection.endpoint >= 0
        var closeIt = outcome == .close
        if keep, connection.draining || connection.requestsServed >= compiled.clusters[cluster].limits.maxRequestsPerConnection {
            keep = false
            closeIt = true
        }
        if outcome == .reusable, !keep { closeIt = true }
        var preferredEndpoint: Int?
        if keep {
            // It carried a response, so it is open whether or not the shell said so.
            connection.connected = true
            connections[index] = connection
            clusters[cluster].idle[connection.endpoint].append(id)
            clusters[cluster].idleCount += 1
            preferredEndpoint = connection.endpoint
        } else {
            connections.remove(at: index)
            if closeIt { actions.append(.closeUpstream(UpstreamConnectionID(id))) }
            if cluster >= 0 { clusters[cluster].counters.upstreamCxActive -= 1 }
        }
        if cluster >= 0 { servePending(cluster, preferredEndpoint: preferredEndpoint, actions: &actions) }
    }

    /// Cancels a connection's connect timer: it is open, or gone.
    mutating func settleConnectTimer(_ id: UInt64, actions: inout [OutboundHTTPAction]) {
        guard let index = connections.index(forKey: id) else { return }
        settleConnectTimer(at: index, actions: &actions)
    }

    /// `settleConnectTimer` of the connection at `index` of `connections`.
    mutating func settleConnectTimer(at index: IntegerTable<UInt64, UpstreamConnection>.Index, actions: inout [OutboundHTTPAction]) {
        guard connections[index].hasConnectTimer else { return }
        connections[index].hasConnectTimer = false
        actions.append(.cancelTimer(.connectTimeout(UpstreamConnectionID(connections.key(at: index)))))
    }

    /// Hands freed capacity to queued requests, oldest first.
    mutating func servePending(_ cluster: Int, preferredEndpoint: Int?, actions: inout [OutboundHTTPAction]) {
        let limits = compiled.clusters[cluster].limits
        while clusters[cluster].pendingCount > 0 {
            let hasIdle = clusters[cluster].idleCount > 0
            guard hasIdle || clusters[cluster].openConnections < limits.maxConnections else { return }
            guard let id = clusters[cluster].pending.popFirst() else {
                clusters[cluster].counters.upstreamRqPendingActive = 0
                return
            }
            guard let exchange = exchanges[id], exchange.phase == .pending, exchange.cluster == cluster else { continue }
            clusters[cluster].counters.upstreamRqPendingActive -= 1
            guard clusters[cluster].activeRequests < limits.maxRequests else {
                clusters[cluster].counters.upstreamRqOverflow += 1
                finish(id, Sidecar.overloadedResponse, local: .requestOverflow, now: nil, actions: &actions)
                continue
            }
            if hasIdle, let connection = clusters[cluster].takeIdle(preferring: preferredEndpoint, anyEndpoint: true) {
                send(id, on: connection, isNew: false, actions: &actions)
            } else if let endpoint = clusters[cluster].endpointBalancer.next() {
                send(id, on: openConnection(cluster: cluster, endpoint: endpoint), isNew: true, actions: &actions)
            } else {
                finish(id, Sidecar.noEndpointsResponse, local: .noEndpoints, now: nil, actions: &actions)
            }
        }
    }

    /// Decides what follows an attempt that ended: a retry after backoff, or the final answer.
    mutating func attemptEnded(_ id: UInt64, status: Int, response: HTTPResponseHead?, timedOut: Bool, connectFailed: Bool = false, now: MeshInstant,
                               random: inout some RandomNumberGenerator, actions: inout [OutboundHTTPAction]) {
        guard var exchange = exchanges[id] else { return }
        let cluster = exchange.cluster
        if !gatewayHealth.isEmpty { recordGatewayHealth(cluster: cluster, endpoint: exchange.lastEndpoint, status: timedOut ? 0 : status, now: now) }
        var retriesExhausted = false
        if cluster >= 0, exchange.bodyReplayable, let retry = compiled.clusters[cluster].retry, retry.numRetries > 0 {
            let retriable = timedOut ? retry.conditions.onPerTryTimeout : retry.conditions.retries(status: status, connectFailed: connectFailed)
            if retriable {
                if exchange.retriesDone >= retry.numRetries {
                    clusters[cluster].counters.upstreamRqRetryLimitExceeded += 1
                    retriesExhausted = true
                } else if !exchange.holdsRetrySlot, clusters[cluster].activeRetries >= compiled.clusters[cluster].limits.maxRetries {
                    clusters[cluster].counters.upstreamRqRetryOverflow += 1
                } else {
                    clusters[cluster].counters.upstreamRqRetry += 1
                    clusters[cluster].counters.upstreamRqRetryBackoffExponential += 1
                    exchange.retriesDone += 1
                    if !exchange.holdsRetrySlot {
                        exchange.holdsRetrySlot = true
                        clusters[cluster].activeRetries += 1
                    }
                    exchange.phase = .backoff
                    exchanges[id] = exchange
                    let delay = RetryBackoff.delay(retry: exchange.retriesDone, base: retry.backoffBase, random: &random)
                    actions.append(.startTimer(.retryBackoff(ExchangeID(id)), after: delay))
                    return
                }
            } else if exchange.retriesDone > 0 {
                clusters[cluster].counters.upstreamRqRetrySuccess += 1
            }
        }
        let exhausted: ResponseFlags = retriesExhausted ? .upstreamRetryLimitExceeded : []
        if timedOut {
            finish(id, Sidecar.perTryTimeoutResponse, local: .perTryTimeout, flags: exhausted.union(.upstreamRequestTimeout), now: now, actions: &actions)
        } else if let response, status != 0 {
            finish(id, response, local: nil, flags: exhausted, now: now, actions: &actions)
        } else if compiled.clusters[cluster].isEgress {
            // Passthrough is transparent: the app's connection ends as the destination's did
            // (an egress gateway that could not be reached is a failed connect, UF).
            let flags: ResponseFlags? = connectFailed && compiled.clusters[cluster].tunnelTarget != nil ? .upstreamConnectionFailure : nil
            finish(id, Sidecar.noResponse, local: .upstreamFailure, flags: flags, now: now, actions: &actions)
        } else {
            let failure: ResponseFlags = connectFailed ? .upstreamConnectionFailure : .upstreamConnectionTermination
            finish(id, Sidecar.upstreamFailureResponse, local: .upstreamFailure, flags: exhausted.union(failure), now: now, actions: &actions)
        }
    }

    /// The final answer: releases the exchange's slots, informs the breaker (when `now` is given)
    /// and responds to the app.
    /// `flags` default to the local reason's (`ResponseFlags(local)`).
    mutating func finish(_ id: UInt64, _ head: HTTPResponseHead, local: LocalReason?, flags: ResponseFlags? = nil, now: MeshInstant?, actions: inout [OutboundHTTPAction]) {
        guard let exchange = exchanges.removeValue(forKey: id) else { return }
        if exchange.hasRequestTimer { actions.append(.cancelTimer(.requestTimeout(ExchangeID(id)))) }
        let cluster = exchange.cluster
        if cluster >= 0 {
            if exchange.holdsRetrySlot { clusters[cluster].activeRetries -= 1 }
            if let now, exchange.admittedByBreaker {
                clusters[cluster].breaker?.record(status: head.status, latency: now - exchange.startedAt, now: now)
            }
        }
        actions.append(.respond(ExchangeID(id), HTTPFilterChain.encoded(head, through: exchange.responseFilters), local: local, flags: flags ?? ResponseFlags(local)))
    }
}
