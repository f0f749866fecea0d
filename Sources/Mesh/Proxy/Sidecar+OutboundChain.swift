import MeshModel

/// An outbound request a filter of its chain holds, waiting for its `filterResume` timer.
struct HeldRequest: Sendable {
    /// The request as the filters before the hold left it.
    var request: FilterRequest
    /// The request as the app sent it, routed anew when the config changed during the hold.
    var original: HTTPRequestHead
    var destination: SocketAddress
    var match: Int
    var resumeAt: ChainPosition
    /// `config.applied` when it was held: a later apply invalidates `match` and the route.
    var configGeneration: UInt64
    /// The shell reported that its body outgrew the replay buffer during the hold.
    var bodyReplayable = true
    /// A gateway request (`match` is then its listener, `destination` its client).
    var isGateway = false
}

// MARK: - Outbound HTTP through the filter chain

extension Sidecar {
    /// Runs the traffic match's chain from `start` (the route match, then the rule's filters);
    /// then the router's weighted split and `routerTakes`. A filter's local reply is the answer; a
    /// hold parks the request until its `filterResume` timer.
    /// `original` is the request as the app sent it (a hold keeps it).
    mutating func runOutboundChain(_ id: ExchangeID, _ request: inout FilterRequest, original: HTTPRequestHead, match: Int, from start: ChainPosition,
                                   destination: SocketAddress, now: MeshInstant, random: inout some RandomNumberGenerator, actions: inout [OutboundHTTPAction]) {
        let input = FilterInput(compiled.outbound.matches, at: match, now: now)
        switch compiled.outboundChain.decode(&request, input, from: start, counters: &counters, buckets: &buckets, random: &random) {
        case let .localReply(response, reason):
            actions.append(.respond(id, response, local: reason, flags: ResponseFlags(reason)))
        case let .hold(delay, resumeAt):
            heldRequests[id.rawValue] = HeldRequest(request: request, original: original, destination: destination, match: match, resumeAt: resumeAt,
                                                    configGeneration: counters[CounterTable.configApplied])
            actions.append(.startTimer(.filterResume(id), after: delay))
        case .toRouter:
            guard let targets = input.targets(of: request), let cluster = pick(targets) else {
                counters[CounterTable.outboundNoRoute] += 1
                actions.append(.respond(id, Sidecar.notFoundResponse, local: .noRoute, flags: .noRoute))
                return
            }
            routerTakes(id, cluster: cluster, responseFilters: compiled.outboundChain.responseFilters(for: request, input),
                        appProtocol: input.listener.appProtocol, now: now, actions: &actions)
        }
    }

    /// A held request's timer fired: its chain goes on at the filter that held it. When a config
    /// was applied meanwhile, the request as the app sent it is matched and routed anew under the
    /// new config, its delay done (the old tables' indexes no longer hold).
    mutating func resumeHeldRequest(_ id: ExchangeID, now: MeshInstant, random: inout some RandomNumberGenerator, actions: inout [OutboundHTTPAction]) {
        guard let held = heldRequests[id.rawValue], !held.isGateway else {
            resumeHeldGatewayRequest(id, now: now, random: &random, actions: &actions)
            return
        }
        heldRequests[id.rawValue] = nil
        defer {
            // The exchange the router made (if any) has sent one attempt at most: no retry yet.
            if !held.bodyReplayable, exchanges[id.rawValue] != nil { exchanges[id.rawValue]!.bodyReplayable = false }
        }
        if held.configGeneration == counters[CounterTable.configApplied] {
            var request = held.request
            runOutboundChain(id, &request, original: held.original, match: held.match, from: held.resumeAt, destination: held.destination, now: now, random: &random, actions: &actions)
            return
        }
        guard let match = outboundMatch(destination: held.destination, host: held.original.authority), compiled.outbound[match].isHTTP else {
            counters[CounterTable.outboundNoRoute] += 1
            actions.append(.respond(id, Sidecar.noResponse, local: .noRoute, flags: .noRoute))
            return
        }
        var request = FilterRequest(head: held.original, listenerPort: compiled.outbound[match].port)
        request.faultDelayed = true
        runOutboundChain(id, &request, original: held.original, match: match, from: .start, destination: held.destination, now: now, random: &random, actions: &actions)
    }
}
