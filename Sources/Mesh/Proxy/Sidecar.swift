import MeshModel

/// The sans-I/O sidecar engine: it takes a `ProxyConfig` and the events of one proxy's
/// connections and requests, and returns decisions and actions. It never touches a socket, a
/// clock or a random source of its own; its shell (the simulator, or the SwiftNIO runtime)
/// carries out what it returns and reports back.
///
/// Outbound HTTP follows the HTTP/1.1 model: one request at a time per upstream connection, idle
/// connections reused per endpoint, and Envoy's circuit-breaking limits per cluster.
///
/// Contract with the shell:
/// - `send(..., newConnection: true)`: open the connection, then send; report `upstreamConnected`
///   once it is open (its `connectTimeout` timer then no longer matters). Report the outcome with
///   `upstreamResponse(id, attempt:)`; status 0 means the attempt got no response (refused, reset):
///   the engine then considers that connection gone and sends no `closeUpstream` for it. A
///   `closeUpstream` for a connection still opening abandons the connect.
/// - `startTimer`: call `timerFired` after the delay; timers that no longer matter are ignored, so
///   a shell may keep them. `cancelTimer` says which ones no longer matter (an exchange's request
///   timeout once it is answered), for a shell that can drop them.
/// - `closeUpstream`: close that connection; it is never used again.
/// - `respond`: the exchange is over; status 0 with `local` set means "close the app's connection".
/// - After `apply`, `takeConfigActions()` returns the closes/answers the change implies; anything
///   not taken is prepended to the next outbound result.
public struct Sidecar: Sendable {
    /// The last config that was applied successfully.
    public private(set) var config: ProxyConfig?
    /// The last gateway config applied successfully (`applyGateway`): the engine is then a gateway.
    public internal(set) var gatewayConfig: GatewayConfig?
    /// LeastConnection's turn per gateway cluster index: ties go round.
    var leastConnectionTurns: [Int: Int] = [:]
    /// HealthCheckPolicy's passive state per gateway cluster index (`PassiveHealth`).
    var gatewayHealth: [Int: PassiveHealth] = [:]
    /// HealthCheckPolicy's active probes (`Sidecar+GatewayHealth`).
    var gatewayProbing = GatewayProbing()

    var compiled = CompiledConfig()
    /// State of the clusters of `compiled.clusters` that have been used, by cluster index; created
    /// on first use (`useCluster`), since a mesh-wide config names far more clusters than one
    /// proxy talks to. Every cluster index an exchange, connection or TCP connection holds has one.
    var clusters = SparseTable<ClusterState>()
    /// Counters of used clusters the current config no longer has, kept so totals do not vanish.
    var retiredClusterCounters: [String: ClusterCounters] = [:]
    /// Balancers of the weighted choices of `compiled.balancerWeights` with more than one target,
    /// by balancer index, created on first pick (single-target choices need none).
    var balancers = SparseTable<SmoothWeightedRoundRobin>()
    /// Parallel to `compiled.buckets`.
    var buckets: [TokenBucket] = []
    var counters = CounterTable()
    /// By exchange number (the shell's), and the upstream connections below by the engine's own
    /// serial number: tables without `Hasher` (`IntegerTable`), looked up several times a request.
    var exchanges = IntegerTable<UInt64, Exchange>()
    /// Outbound requests a filter holds (a fault delay) before the router takes them.
    var heldRequests: [UInt64: HeldRequest] = [:]
    /// Tracing: sampled outbound exchanges and inbound requests awaiting their ends, by exchange
    /// and connection, and the spans finished since the shell took them.
    var clientTraces: [UInt64: ClientTrace] = [:]
    var serverTraces: [UInt64: ServerTrace] = [:]
    var finishedSpans: [TraceSpan] = []
    /// The latest instant an engine call brought (for answers given without one).
    var traceClock = MeshInstant.zero
    /// The service this proxy's spans name, worked out when a config is applied.
    var localServiceName = "sidecar"
    var connections = IntegerTable<UInt64, UpstreamConnection>()
    var nextUpstreamConnection: UInt64 = 1
    /// Outbound TCP connection → cluster index (-1: the cluster left the config).
    var outboundTCP: [UInt64: Int] = [:]
    var inboundConnections: Set<UInt64> = []
    /// Actions an apply produced (closing connections to endpoints that left, answering requests
    /// queued for clusters that left); handed out by `takeConfigActions()` or with the next result.
    var deferredActions: [OutboundHTTPAction] = []

    /// No config yet: everything is refused (noRoute).
    public init() {}

    public init(config: ProxyConfig) {
        _ = apply(config)
    }

    /// Creates the state of a cluster on its first use.
    mutating func useCluster(_ cluster: Int) {
        if !clusters.contains(cluster) { clusters.insert(ClusterState(compiled.clusters[cluster]), at: cluster) }
    }

    public var stats: SidecarStats {
        var entries: [(name: String, value: UInt64)] = []
        func add(_ name: String, _ counters: ClusterCounters) {
            for (suffix, value) in counters.rendered() { entries.append((name: "cluster.\(name).\(suffix)", value: value)) }
        }
        // Clusters not used yet show the zeros a fresh state would.
        let unused = ClusterCounters()
        for (index, cluster) in compiled.clusters.enumerated() { add(cluster.name, clusters[ifPresent: index]?.counters ?? unused) }
        for (name, counters) in retiredClusterCounters { add(name, counters) }
        for (index, name) in counters.names.enumerated() { entries.append((name: name, value: counters.values[index])) }
        return SidecarStats(entries)
    }

    /// The actions the last apply produced that have not been handed out yet.
    public mutating func takeConfigActions() -> [OutboundHTTPAction] {
        let actions = deferredActions
        deferredActions.removeAll()
        finishClientTraces(actions, from: 0, now: traceClock)
        return actions
    }
}

/// One app request in progress.
struct Exchange: Sendable {
    enum Phase: Sendable {
        /// Waiting for a connection (queued in its cluster).
        case pending
        /// An attempt is on `connection`, awaiting its response.
        case inFlight
        /// Between attempts: waiting for the retry backoff timer.
        case backoff
    }

    /// -1 when its cluster left the config.
    var cluster: Int
    var phase: Phase = .pending
    /// Number of the current (or last) attempt, 1-based; 0 before the first send.
    var attempt = 0
    var retriesDone = 0
    var connection: UInt64 = 0
    var startedAt: MeshInstant
    /// Holds one of the cluster's concurrent-retry slots (`maxRetries`).
    var holdsRetrySlot = false
    /// Counted by the cluster's error/slow breaker; its outcome must be reported to it.
    var admittedByBreaker = false
    /// Endpoint index of the last attempt (-1: none yet), so that a retry goes elsewhere.
    var lastEndpoint = -1
    /// The shell can still resend the request body (it did not outgrow the shell's replay buffer).
    var bodyReplayable = true
    /// A `requestTimeout` timer runs for it (cancelled when the exchange ends).
    var hasRequestTimer = false
    /// The protocol of the port its traffic match names.
    var appProtocol: AppProtocol = .http
    /// The chain's filters with a response side that the request passed (empty for a sidecar's
    /// chains): the final answer runs back through them.
    var responseFilters: [HTTPFilter] = []
    /// The gateway's choice of endpoint for the first attempt (hashing, least connection, a
    /// sticky session); nil: the cluster's balancer picks.
    var preferredEndpoint: Int?
}

extension Exchange {
    /// The next attempt goes out on `connection` to `endpoint`; what the send needs back. A
    /// mutating call changes the exchange where it is stored (reads through
    /// `Dictionary.Values` copied it whole).
    mutating func beginAttempt(on connection: UInt64, endpoint: Int) -> (attempt: Int, cluster: Int, appProtocol: AppProtocol) {
        attempt += 1
        phase = .inFlight
        self.connection = connection
        lastEndpoint = endpoint
        return (attempt, cluster, appProtocol)
    }

    /// The attempt numbered `attempt` ended: the exchange waits (backoff) for what follows. Nil,
    /// and nothing changes, when that is not the attempt in flight.
    mutating func endAttempt(_ attempt: Int) -> (cluster: Int, connection: UInt64)? {
        guard phase == .inFlight, self.attempt == attempt else { return nil }
        phase = .backoff
        return (cluster, connection)
    }
}

struct UpstreamConnection: Sendable {
    /// -1 when its cluster left the config.
    var cluster: Int
    /// -1 when its endpoint left the cluster.
    var endpoint: Int
    var address: SocketAddress
    var requestsServed = 0
    var busyWith: UInt64?
    /// The shell reported it open (or it carried a response).
    var connected = false
    /// A `connectTimeout` timer runs for it.
    var hasConnectTimer = false
    /// Over its cluster's (lowered) connection limit: closed when its request is over.
    var draining = false
}

// MARK: - Config

extension Sidecar {
    public mutating func apply(_ config: ProxyConfig) -> ConfigApplyResult {
        apply(PreparedConfig(config))
    }

    /// Applies a config compiled beforehand; sidecars given the same `PreparedConfig` share its
    /// compiled tables (copy-on-write) instead of each compiling and holding its own copy.
    public mutating func apply(_ prepared: PreparedConfig) -> ConfigApplyResult {
        var next: CompiledConfig
        switch prepared.compiled {
        case .success(let compiled):
            next = compiled
        case .failure(let error):
            counters[CounterTable.configRejected] += 1
            return .rejected(reason: error.description)
        }
        let config = prepared.config
        for index in next.inbound.indices {
            if let name = next.inbound[index].connectionRateLimitedCounterName {
                next.inbound[index].connectionRateLimitedCounter = counters.index(name)
            }
        }
        keepEgressClusters(in: &next)
        carryState(into: next)
        compiled = next
        self.config = config
        localServiceName = Self.localServiceName(of: config)
        counters[CounterTable.configApplied] += 1
        return .applied(version: config.version)
    }

    /// Moves per-cluster state (pools, queues, counters, breakers) and rate-limit buckets over to
    /// the new tables by name, and winds down what the new config no longer has. Only clusters
    /// that have state are visited; the others have nothing to carry.
    mutating func carryState(into next: CompiledConfig) {
        let old = compiled
        let oldStates = clusters
        // Per old state slot: the cluster's new index (-1: gone) and, when its endpoints changed,
        // old endpoint index → new index (-1: gone).
        var newIndexOfSlot = [Int](repeating: -1, count: oldStates.count)
        var endpointRemapOfSlot = [[Int]?](repeating: nil, count: oldStates.count)
        var kept: [(newIndex: Int, slot: Int)] = []
        var removed: [(oldIndex: Int, slot: Int)] = []
        for (slot, oldIndex) in oldStates.indexOfSlot.enumerated() {
            if let newIndex = next.clusterIndex(named: old.clusters[oldIndex].name) {
                newIndexOfSlot[slot] = newIndex
                kept.append((newIndex, slot))
            } else {
                removed.append((oldIndex, slot))
            }
        }
        // The order in which the old code walked clusters (new ones, then old ones by index) fixes
        // the order of the close/answer actions: keep it.
        kept.sort { $0.newIndex < $1.newIndex }
        removed.sort { $0.oldIndex < $1.oldIndex }

        var states = SparseTable<ClusterState>()
        // Clusters that come back keep the counters they had when they left.
        var returning: [(newIndex: Int, counters: ClusterCounters)] = []
        for (name, counters) in retiredClusterCounters where old.clusterIndex(named: name) == nil {
            if let newIndex = next.clusterIndex(named: name) { returning.append((newIndex, counters)) }
        }
        returning.sort { $0.newIndex < $1.newIndex }
        for (newIndex, retired) in returning {
            retiredClusterCounters[next.clusters[newIndex].name] = nil
            var state = ClusterState(next.clusters[newIndex])
            var counters = retired
            counters.upstreamCxActive = 0
            counters.upstreamRqActive = 0
            counters.upstreamRqPendingActive = 0
            state.counters = counters
            states.insert(state, at: newIndex)
        }

        for (newIndex, slot) in kept {
            let cluster = next.clusters[newIndex]
            let previous = old.clusters[oldStates.indexOfSlot[slot]]
            var state = oldStates.values[slot]
            if previous.endpoints != cluster.endpoints || previous.endpointWeights != cluster.endpointWeights {
                state.endpointBalancer = SmoothWeightedRoundRobin(weights: cluster.endpointWeights)
            }
            if previous.endpoints != cluster.endpoints {
                var newIndexByAddress: [SocketAddress: Int] = [:]
                for (index, address) in cluster.endpoints.enumerated() where newIndexByAddress[address] == nil {
                    newIndexByAddress[address] = index
                }
                let remap = previous.endpoints.map { newIndexByAddress[$0] ?? -1 }
                endpointRemapOfSlot[slot] = remap
                var idle = [[UInt64]](repeating: [], count: cluster.endpoints.count)
                var idleCount = 0
                for (oldEndpoint, ids) in state.idle.enumerated() {
                    let newEndpoint = remap[oldEndpoint]
                    if newEndpoint >= 0 {
                        idle[newEndpoint].append(contentsOf: ids)
                        idleCount += ids.count
                    } else {
                        for id in ids {
                            connections[id] = nil
                            state.counters.upstreamCxActive -= 1
                            deferredActions.append(.closeUpstream(UpstreamConnectionID(id)))
                        }
                    }
                }
                state.idle = idle
                state.idleCount = idleCount
            }
            if previous.circuitBreaking != cluster.circuitBreaking {
                state.breaker = cluster.circuitBreaking.map(ErrorCircuitBreaker.init)
            }
            if previous.limits.maxConnections > cluster.limits.maxConnections {
                drainConnections(above: cluster.limits.maxConnections, of: oldStates.indexOfSlot[slot], state: &state)
            }
            states.insert(state, at: newIndex)
        }

        // Clusters that left: close their idle connections, answer their queued requests, keep their counters.
        for (oldIndex, slot) in removed {
            var state = oldStates.values[slot]
            for ids in state.idle {
                for id in ids {
                    connections[id] = nil
                    deferredActions.append(.closeUpstream(UpstreamConnectionID(id)))
                }
            }
            while let id = state.pending.popFirst() {
                guard let exchange = exchanges[id], exchange.phase == .pending, exchange.cluster == oldIndex else { continue }
                exchanges[id] = nil
                if exchange.hasRequestTimer { deferredActions.append(.cancelTimer(.requestTimeout(ExchangeID(id)))) }
                deferredActions.append(.respond(ExchangeID(id), HTTPFilterChain.encoded(Sidecar.noEndpointsResponse, through: exchange.responseFilters), local: .noEndpoints,
                                                flags: ResponseFlags.noHealthyUpstream))
            }
            state.counters.upstreamCxActive = 0
            state.counters.upstreamRqActive = 0
            state.counters.upstreamRqPendingActive = 0
            retiredClusterCounters[old.clusters[oldIndex].name] = state.counters
        }

        // Re-point what refers to clusters by index (order-independent updates only); whatever
        // refers to a cluster refers to one with state.
        func newIndex(of oldCluster: Int) -> Int {
            guard let slot = oldStates.slot(of: oldCluster) else { return -1 }
            return newIndexOfSlot[slot]
        }
        if oldStates.count > 0 {
            for id in connections.keys {
                guard var connection = connections[id], connection.cluster >= 0 else { continue }
                let oldCluster = connection.cluster
                connection.cluster = newIndex(of: oldCluster)
                if connection.cluster < 0 {
                    connection.endpoint = -1
                } else if let slot = oldStates.slot(of: oldCluster), let remap = endpointRemapOfSlot[slot], connection.endpoint >= 0 {
                    connection.endpoint = remap[connection.endpoint]
                }
                connections[id] = connection
            }
            for id in exchanges.keys where exchanges[id]!.cluster >= 0 {
                exchanges[id]!.cluster = newIndex(of: exchanges[id]!.cluster)
            }
            for id in Array(outboundTCP.keys) where outboundTCP[id]! >= 0 {
                outboundTCP[id] = newIndex(of: outboundTCP[id]!)
            }
        }
        clusters = states

        // Weighted choices start over with every config.
        balancers = SparseTable()

        if !old.buckets.isEmpty || !next.buckets.isEmpty {
            var oldBuckets: [String: TokenBucket] = [:]
            for (index, spec) in old.buckets.enumerated() { oldBuckets[spec.key] = buckets[index] }
            buckets = next.buckets.map { spec in
                if let previous = oldBuckets[spec.key], previous.hasSameLimit(as: spec.bucket) { return previous }
                return spec.bucket
            }
        }
    }
}

extension Sidecar {
    /// A lower connection limit governs the next request (as Envoy replaces a changed cluster's
    /// pools): connections above it close, idle ones now (deferred `closeUpstream`s), busy ones
    /// when their request is over instead of going back to the pool. Oldest first.
    mutating func drainConnections(above limit: Int, of oldCluster: Int, state: inout ClusterState) {
        var excess = state.openConnections - limit
        guard excess > 0 else { return }
        for endpoint in state.idle.indices {
            while excess > 0, !state.idle[endpoint].isEmpty {
                let id = state.idle[endpoint].removeFirst()
                state.idleCount -= 1
                connections[id] = nil
                state.counters.upstreamCxActive -= 1
                deferredActions.append(.closeUpstream(UpstreamConnectionID(id)))
                excess -= 1
            }
        }
        guard excess > 0 else { return }
        for id in connections.keys.sorted() where excess > 0 {
            guard connections[id]!.cluster == oldCluster, !connections[id]!.draining else { continue }
            connections[id]!.draining = true
            excess -= 1
        }
    }
}

/// A `ProxyConfig` validated and compiled once, ready for `Sidecar.apply(_:)` on any number of sidecars.
public struct PreparedConfig: Sendable {
    public let config: ProxyConfig
    let compiled: Result<CompiledConfig, ConfigRejection>

    public init(_ config: ProxyConfig) {
        self.init(config, outbound: CompiledOutbound.compile(config.outbound))
    }

    /// Compiles `config`, taking its outbound tables from `cache` when an earlier config had the
    /// same outbound stores (`OutboundConfig.storageKey`): the proxy groups of a permissive mesh
    /// then share one compiled catalog instead of compiling and holding one each.
    public init(_ config: ProxyConfig, sharing cache: inout CompiledOutboundCache) {
        self.init(config, outbound: cache.outbound(for: config.outbound))
    }

    private init(_ config: ProxyConfig, outbound: Result<CompiledOutbound, ConfigRejection>) {
        self.config = config
        do {
            compiled = .success(try CompiledConfig.compile(config, outbound: outbound))
        } catch {
            compiled = .failure(error)
        }
    }
}

/// Outbound tables compiled for earlier configs, by the stores they were compiled from. Keeps the
/// most recent `capacity` (a shell preparing the configs of one controller update needs one per
/// catalog; older catalogs' tables live on in the sidecars that use them).
public struct CompiledOutboundCache: Sendable {
    private var entries: [(key: OutboundConfig.StorageKey, outbound: Result<CompiledOutbound, ConfigRejection>)] = []
    public let capacity: Int

    public init(capacity: Int = 8) {
        self.capacity = max(1, capacity)
    }

    mutating func outbound(for config: OutboundConfig) -> Result<CompiledOutbound, ConfigRejection> {
        let key = config.storageKey
        if let entry = entries.last(where: { $0.key == key }) { return entry.outbound }
        let compiled = CompiledOutbound.compile(config)
        if entries.count >= capacity { entries.removeFirst() }
        entries.append((key, compiled))
        return compiled
    }
}
