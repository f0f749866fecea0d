import MeshModel

/// What a filter's request-side hook decided.
enum FilterOutcome: Hashable, Sendable {
    /// Go on with the next filter (the filter may have changed the request; it says so in
    /// `FilterRequest.headModified`).
    case proceed
    /// Stop: the engine answers with this response; it runs back through the filters already passed.
    case localReply(HTTPResponseHead, LocalReason)
    /// Stop for this long (an engine timer), then run this filter again: it must not hold the same
    /// request twice (its per-request state in `FilterRequest` says it already did).
    case hold(MeshDuration)
}

/// The rule the route match chose, by index into its listener's tables.
struct SelectedRoute: Hashable, Sendable {
    var service: Int
    var rule: Int
}

/// A copy of the request a mirror filter asks for: sent to `cluster`, its answer ignored.
struct MirrorRequest: Hashable, Sendable {
    var cluster: String
    var head: HTTPRequestHead
}

/// One request as the chain's filters see it, carried from filter to filter (and kept for the
/// response side): the head, which filters may change, and what earlier filters decided.
struct FilterRequest: Sendable {
    /// A listener's scheme, as a redirect that keeps it writes it.
    enum Scheme: String, Sendable {
        case http, https
    }

    var head: HTTPRequestHead
    /// A filter changed `head`: the router forwards the changed head.
    var headModified: Bool
    /// From the peer's mTLS certificate; nil: not in the mesh.
    var peerIdentity: String?
    /// The client's address (the gateway's access control reads it).
    var sourceIP: String?
    /// The listener's port and scheme, as a redirect that keeps them needs them.
    var listenerPort: Int
    var listenerScheme: Scheme
    /// Set by the route match.
    var route: SelectedRoute?
    /// The part of the path a prefix match matched (nil: the rule's match is not a prefix), which
    /// `ReplacePrefixMatch` replaces.
    var matchedPrefix: String?
    /// Copies asked for by mirror filters, in filter order.
    var mirrors: [MirrorRequest]
    /// A fault filter delayed this request already (after its delay it only decides an abort).
    var faultDelayed: Bool
    /// The gateway's port pacing held this request for its body's bytes already.
    var uploadPaced: Bool

    /// Every field is set once, here (no property defaults). The optimizer still builds a request
    /// in two temporaries and copies one (a copy and two destroys of the head and every string,
    /// per request and direction: docs/BENCHMARKS.md, "Hashing, allocations and copies").
    init(head: HTTPRequestHead, peerIdentity: String? = nil, listenerPort: Int) {
        self.head = head
        headModified = false
        self.peerIdentity = peerIdentity
        sourceIP = nil
        self.listenerPort = listenerPort
        listenerScheme = .http
        route = nil
        matchedPrefix = nil
        mirrors = []
        faultDelayed = false
        uploadPaced = false
    }
}

/// What a filter's hook may read besides the request: its listener's route tables and the time.
struct FilterInput: Sendable {
    /// The listener's table among its config's tables, read in place: a sidecar's request makes an
    /// input without copying its traffic match (a dozen arrays, sets and strings).
    private let tables: [CompiledTrafficMatch]
    private let index: Int
    var now: MeshInstant

    var listener: CompiledTrafficMatch { tables[index] }

    // What the route match reads, each a field of the table in place (`listener` is a copy).

    var serviceCount: Int { tables[index].services.count }

    /// `CompiledTrafficMatch.serviceIndex(forHost:)` of the listener.
    func serviceIndex(forHost host: String) -> Int? {
        CompiledTrafficMatch.serviceIndex(forHost: host, in: tables[index].hosts, port: tables[index].port)
    }

    /// The first rule of the listener's `service` that matches the request (`RouteMatchFilter.firstRule`).
    func firstRule(ofService service: Int, matching head: HTTPRequestHead) -> Int? {
        RouteMatchFilter.firstRule(of: tables[index].services[service].rules, matching: head)
    }

    /// The input of the traffic match `tables[index]`.
    init(_ tables: [CompiledTrafficMatch], at index: Int, now: MeshInstant) {
        self.tables = tables
        self.index = index
        self.now = now
    }

    /// The input of a table held on its own (a gateway listener's).
    init(listener: CompiledTrafficMatch, now: MeshInstant) {
        self.init([listener], at: 0, now: now)
    }

    // The matched rule's parts, read in place: a per-request copy of the whole `CompiledRule`
    // (its matchers, response head and filters) cost more than the routing itself.

    /// The targets of the rule the route match chose, when it chose one.
    func targets(of request: FilterRequest) -> TargetSet? {
        guard let route = request.route else { return nil }
        return listener.services[route.service].rules[route.rule].targets
    }

    /// The matched rule's own filters (none when no rule was chosen).
    func ruleFilters(of request: FilterRequest) -> [HTTPFilter] {
        guard let route = request.route else { return [] }
        return listener.services[route.service].rules[route.rule].filters
    }

    /// The identities the matched rule admits; nil: anyone (or no rule was chosen).
    func allowedServices(of request: FilterRequest) -> Set<String>? {
        guard let route = request.route else { return nil }
        return listener.services[route.service].rules[route.rule].allowedServices
    }
}

/// The hooks every filter has. `decode` runs A→B→C on the request; `encode` runs C→B→A on the
/// response (by default it changes nothing). The engine's shared state a filter acts on (the
/// counters, the rate-limit buckets) is lent to the hook; a filter keeps no state of its own.
protocol HTTPFilterHooks: Sendable {
    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome
    func encode(_ response: inout HTTPResponseHead)
    /// Whether `encode` can change anything (the chain skips the response side when none can).
    var hasEncode: Bool { get }
}

extension HTTPFilterHooks {
    func encode(_ response: inout HTTPResponseHead) {}
    var hasEncode: Bool { false }
}

/// The generator of a chain that draws nothing (a sidecar's inbound chain: no filter of it is
/// random), so that its decode needs no generator from the shell.
struct NoRandomness: RandomNumberGenerator {
    mutating func next() -> UInt64 { 0 }
}
