import MeshModel

/// Routing, as FSM's `inbound-http-routing` / `outbound-http-routing` modules do it: the Host
/// header names the service (as written, then with or without the port), the first rule whose
/// method, path and headers match is chosen. The rule's weighted split is the router's.
struct RouteMatchFilter: HTTPFilterHooks {
    enum Direction: Hashable, Sendable {
        /// A port with no service allows nothing (SMI without a TrafficTarget: 403); an unknown Host
        /// goes to the port's only service when it has one; no matching rule is 403.
        case inbound
        /// An unknown Host or no matching rule is 404.
        case outbound
    }

    var direction: Direction

    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome {
        switch direction {
        case .inbound: decodeInbound(&request, input, counters: &counters)
        case .outbound: decodeOutbound(&request, input, counters: &counters)
        }
    }

    private func decodeInbound(_ request: inout FilterRequest, _ listener: FilterInput, counters: inout CounterTable) -> FilterOutcome {
        let serviceCount = listener.serviceCount
        guard serviceCount > 0 else {
            counters[CounterTable.inboundAccessDenied] += 1
            return .localReply(Sidecar.forbiddenResponse, .accessDenied)
        }
        guard let service = listener.serviceIndex(forHost: request.head.authority) ?? (serviceCount == 1 ? 0 : nil) else {
            counters[CounterTable.inboundNoRoute] += 1
            return .localReply(Sidecar.notFoundResponse, .noRoute)
        }
        guard let rule = listener.firstRule(ofService: service, matching: request.head) else {
            counters[CounterTable.inboundAccessDenied] += 1
            return .localReply(Sidecar.forbiddenResponse, .accessDenied)
        }
        request.route = SelectedRoute(service: service, rule: rule)
        return .proceed
    }

    private func decodeOutbound(_ request: inout FilterRequest, _ listener: FilterInput, counters: inout CounterTable) -> FilterOutcome {
        guard let service = listener.serviceIndex(forHost: request.head.authority),
              let rule = listener.firstRule(ofService: service, matching: request.head)
        else {
            counters[CounterTable.outboundNoRoute] += 1
            return .localReply(Sidecar.notFoundResponse, .noRoute)
        }
        request.route = SelectedRoute(service: service, rule: rule)
        return .proceed
    }

    static func firstRule(of rules: [CompiledRule], matching head: HTTPRequestHead) -> Int? {
        // The path without its query, once a rule needs it (`CompiledRule.matches`).
        var path: Substring?
        // Each rule is borrowed from the buffer: `firstIndex(where:)` copied every rule it tried.
        return rules.withUnsafeBufferPointer { rules in
            for index in rules.indices where rules[index].matches(method: head.method, head: head, path: &path) { return index }
            return nil
        }
    }
}
