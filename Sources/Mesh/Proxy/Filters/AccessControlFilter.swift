import MeshModel

/// Inbound authorization by the peer's identity: a rule that names the services allowed to call
/// it (an SMI TrafficTarget's sources) answers 403 to any other identity, and to a peer without
/// one (not in the mesh). A rule that names none admits everyone (permissive mode).
struct AccessControlFilter: HTTPFilterHooks {
    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome {
        guard let allowed = input.allowedServices(of: request) else { return .proceed }
        guard let peer = request.peerIdentity, allowed.contains(peer) else {
            counters[CounterTable.inboundAccessDenied] += 1
            return .localReply(Sidecar.forbiddenResponse, .accessDenied)
        }
        return .proceed
    }
}
