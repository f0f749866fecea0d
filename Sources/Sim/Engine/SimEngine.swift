import Foundation
import MeshControl
import MeshModel
import MeshProxy

/// One scheduled happening. Small value payloads (indices, ids), no closures, so the queue
/// does not allocate per event.
enum EngineEvent {
    case step(Int32)
    case configPush(Int32)
    /// Gateway configs changed a config delay ago: the gateway pods take them.
    case gatewayPush
    case loadIssue(load: Int32, worker: Int32)
    /// The request left its app and reached the app's own sidecar.
    case atClientSidecar(slot: Int32, id: UInt64)
    /// An outside client's request reached a gateway pod (the exchange's `client`).
    case atGateway(slot: Int32, id: UInt64)
    /// A request (one attempt) reached the server pod.
    case atServer(Hop)
    /// The server's app finished the request.
    case appDone(Hop)
    /// The upstream response (or a transport failure, status 0) reached the client's sidecar.
    case atClientSidecarResponse(Hop)
    /// The response reached an unmeshed client directly.
    case directResponse(Hop)
    /// The final response reached the client app.
    case atClient(slot: Int32, id: UInt64)
    case proxyTimer(pod: Int32, incarnation: Int32, timer: Int32)
    /// The route timeout of the exchange in `slot` (its client's sidecar, while that incarnation lives).
    case requestTimeout(slot: Int32, id: UInt64, incarnation: Int32)
    /// The connect timeout of a sidecar's new upstream connection.
    case connectTimeout(pod: Int32, incarnation: Int32, connection: UInt64)
    case connectionLost(pod: Int32, incarnation: Int32, connection: UInt64)
    case appLoop(pod: Int32, incarnation: Int32, loop: Int32)
    case tcpAtServer(TCPHop)
    case tcpReply(TCPHop)
    case podRestart(Int32)
    case faultEnd(Int32)
    /// The kubelet starts a crashed sidecar again.
    case sidecarRestart(Int32)
    /// The kubelet probes a pod's sidecar.
    case readinessProbe(Int32)
}

/// One attempt of an HTTP exchange on its way through the network.
struct Hop {
    var slot: Int32
    var attempt: Int32
    var id: UInt64
    var server: Int32
    var serverIncarnation: Int32
    /// The client sidecar's upstream connection, or the direct connection of an unmeshed client.
    var connection: UInt64
    /// The port the request was sent to on the server pod.
    var port: Int32
    /// The client pod (for connection bookkeeping once the exchange is gone).
    var connectionOwner: Int32 = -1
    /// The answer travelling back (0: refused/reset/lost).
    var status: Int32 = 0
    /// How the answer was made: by the app, by the server's sidecar (`Exchange.inboundLocalHead`), or by the transport.
    var answeredBy: AnsweredBy = .transport
    /// The server closed the connection with this answer (reset, refused, rejected).
    var closesConnection = false
    /// The connection could not be opened (refused, no such address): the request never left.
    var connectFailed = false
    /// The attempt opens its connection (the request follows the handshake).
    var opensConnection = false
    /// Sent in plain by the client's sidecar (egress passthrough): the server sees no mesh identity.
    var plaintext = false
    var appStartedAt: Int64 = 0
    /// The app's response body (index into `SimEngine.bodyTexts`), -1: none known.
    var body: Int32 = -1

    enum AnsweredBy: UInt8 { case app, serverSidecar, transport }
}

/// One TCP call of a load worker on its way.
struct TCPHop {
    var load: Int32
    var worker: Int32
    var generation: UInt32
    var ok = false
    var closes = false
    /// Why a sidecar refused the call's connection (`NR`, `UO`, `RL`), for the load's report.
    var flags: ResponseFlags = []
}

/// Where a request came from, to hand its response back.
enum ExchangeOrigin {
    case load(Int32, worker: Int32)
    case clientLoop(pod: Int32, loop: Int32, buy: Bool)
    /// bookstore's restock POST: only logged by the real app.
    case fireAndForget
    /// The egress gateway's leg of a meshed pod's egress (`SimEngine+EgressGateway`): its answer
    /// goes back to the sidecar that tunnelled it.
    case egressTunnel
    /// A gateway's HealthCheckPolicy probe (`SimEngine+HealthProbe`): its end goes back to the
    /// gateway's engine; `tcp`: only whether the connection opened counts.
    case healthProbe(gateway: Int32, probe: UInt64, tcp: Bool)
}

/// An HTTP exchange from issue to final response. Stored in a slot table; events refer to it by
/// slot and check the id, so a reused slot never receives a stale event.
struct Exchange {
    var id: UInt64 = 0
    var origin: ExchangeOrigin = .fireAndForget
    var client: Int32 = -1
    var head: HTTPRequestHead
    var destination: SocketAddress
    /// Latency is measured from here (an open-loop load's scheduled time).
    var measuredFrom: Int64 = 0
    /// The server that answered the latest upstream attempt (backend accounting).
    var lastServer: Int32 = -1
    var finalHead: HTTPResponseHead?
    var finalServer: Int32 = -1
    /// An answer made by the server's sidecar (rate limit, access denied).
    var inboundLocalHead: HTTPResponseHead?
    /// The response flags of the server sidecar's decision on the latest hop it saw, and of the
    /// hop whose answer reached the client sidecar (its flags when the client passes it on).
    var inboundFlags: ResponseFlags = []
    var lastServerFlags: ResponseFlags = []
    /// The flags of the final answer: the client sidecar's, with the server sidecar's when the
    /// client passed the server's answer on.
    var finalFlags: ResponseFlags = []
    var bodyBytes = 0
    /// Response bodies (indices into `SimEngine.bodyTexts`, -1: none) of the latest upstream
    /// attempt and of the final response.
    var lastBody: Int32 = -1
    var finalBody: Int32 = -1
    /// The client sidecar's route timeout for this exchange, while it waits in the queue.
    var requestTimer: EventQueue<EngineEvent>.Handle?
    /// An exchange a gateway pod (`client`) serves for an outside client at this address.
    var gatewayClient: SocketAddress?
    /// The next server gets TLS from this client (an https load, a passthrough, upstream TLS); nil: plain.
    var tls: TLSClientHello?
    /// A udp:// load's datagram (answered by one datagram, or by nothing).
    var udp = false
    /// `tls` is the gateway's own (UpstreamTLSPolicy), not the load's client's.
    var helloFromGateway = false
    /// The load's handshake failed (its client refused the server, or the server refused it).
    var tlsFailed = false
}

struct UpstreamConnection {
    var server: Int32
    var serverIncarnation: Int32
    var acceptedByServer = false
    /// The client sidecar was told it is open (its first request reached the server).
    var connected = false
}

/// Per-sidecar measurement, see `CostModel`.
struct ProxyMeter {
    var cpu: Int64 = 0
    var openConnections = 0
    var configBytes = 0
    var peakMemory = 0
    var everMeshed = false

    mutating func noteMemory() {
        let memory = CostModel.baseMemory + openConnections * CostModel.perConnectionMemory + CostModel.configMemoryFactor * configBytes
        if memory > peakMemory { peakMemory = memory }
    }
}

/// The simulator's state and event loop. A class so that the many tables are mutated in place;
/// it never leaves the `Simulation` that owns it.
final class SimEngine {
    let scenario: Scenario
    let seed: UInt64
    let configDelay: Int64
    let endTime: Int64?
    /// Runs without a duration stop here at the latest.
    static let safetyLimit: Int64 = ScenarioLimits.maxVirtualTime.nanoseconds
    /// A run stops after this many events, whatever its virtual time (wall-clock work).
    let eventLimit: Int
    /// Why the run stopped before its end, nil when it ran to its end.
    var stopped: String?

    var now: Int64 = 0
    var queue = EventQueue<EngineEvent>()
    /// `sim --pcap`: the run's packets, nil when nobody asked for them.
    var capture: PacketCapture?
    var eventsProcessed = 0
    var eventLog: [SimEvent] = []
    /// Spans taken from the sidecars as they finish (tracing on).
    var spanLog = SpanLog()

    var controller: MeshController
    var namespaces: [String: Namespace] = [:]
    var otherResources: [ResourceKey: Resource] = [:]
    var meshNamespaces: Set<String>
    /// Compiled configs and their rendered sizes by version, shared by the pods of a proxy group.
    var preparedConfigs: [String: (compiled: PreparedConfig, bytes: Int)] = [:]
    /// The compiled outbound of recent catalogs, shared by the proxy groups of a permissive mesh.
    var compiledOutbounds = CompiledOutboundCache()

    var deployments: [SimDeployment] = []
    var deploymentIndex: [String: Int] = [:]
    var pods: [SimPod] = []
    var podIndex: [PodKey: Int] = [:]
    /// Looked up by every send (which pod an endpoint address is): a table without `Hasher`.
    var podByIP = IntegerTable<UInt32, Int>()
    /// External hosts (`external:`) by DNS name → their pod; pods outside the cluster.
    var externalHostByName: [String: Int] = [:]
    var outsidePods: Set<Int> = []
    /// The ports each external host serves (others refuse connections).
    var externalPorts: [Int: Set<Int>] = [:]
    /// The `from: external` client's pod, when a load needs it.
    var externalClient: Int?
    /// FSM Gateway: the pod `fsm-gateway-<namespace>` of each namespace with a programmed Gateway,
    /// and the Gateway (`namespace/name`) each such pod runs.
    /// Gateway pods by name (`fsm-gateway-<ns>`, `fsm-ingress`).
    var gatewayPodByName: [String: Int] = [:]
    var gatewayOfPod: [Int: String] = [:]
    /// The egress gateway pods (`SimEngine+EgressGateway`) and the port each serves tunnels on.
    var egressGatewayPorts: [Int: Int] = [:]
    /// The Services EgressGateways of the scenario name (`namespace/name`), found once.
    var egressGatewayServices: Set<String> = []
    /// What a sidecar's egress through the gateway is for: by the exchange id, the destination
    /// the gateway is to reach (set when the sidecar sends, read when the gateway receives).
    var egressTunnelTargets: [UInt64: SocketAddress] = [:]
    /// The gateway's own exchanges, by id: the hop of the sidecar's exchange each answers.
    var egressTunnelParents: [UInt64: Hop] = [:]
    /// Meshed pods whose capture skips some destinations (`SimEngine+OutboundExclusion`): their ranges.
    var outboundExclusions: [Int: [(base: UInt32, mask: UInt32)]] = [:]
    /// https:// exchanges of meshed pods their sidecars relay as raw TCP (`SimEngine+TLSRelay`), by id.
    var tlsRelays: [UInt64: TLSRelay] = [:]
    var sidecars: [Sidecar] = []
    var sidecarRandom: [SimRandom] = []
    var meters: [ProxyMeter] = []
    var podExtraLatency: [Int64] = []

    var services: [SimService] = []
    var serviceIndex: [String: Int] = [:]
    var serviceByHost: [String: Int] = [:]
    var serviceByIP: [UInt32: Int] = [:]
    var endpointsResources: [String: Endpoints] = [:]

    var network: SimRandom
    var fixedLatency: Int64?
    var latencyMu = 0.0, latencySigma = 0.0
    var loss: Double

    var exchanges: [Exchange] = []
    /// Response bodies as the reports show them (trimmed, at most 80 characters), interned once
    /// per app so that the per-request path carries an index.
    var bodyTexts: [String] = []
    var bodyIDs: [String: Int32] = [:]
    var freeSlots: [Int32] = []
    var exchangeSerial: UInt64 = 0
    var timers: [ProxyTimer?] = []
    /// The list the sidecars' calls append their actions to (`takeActionList`, `performKept`),
    /// kept so that a call allocates none.
    var actionList: [OutboundHTTPAction] = []
    /// The sidecars' connect timeouts waiting in the queue, by upstream connection key.
    var connectTimers = IntegerTable<UInt64, EventQueue<EngineEvent>.Handle>()
    var freeTimers: [Int32] = []
    /// By `upstreamKey` (the client pod and its sidecar's connection number): looked up at the send
    /// and at the server of every request, so a table without `Hasher`.
    var upstreamConnections = IntegerTable<UInt64, UpstreamConnection>()
    /// Unmeshed client → server connections: key `client << 32 | server`, value the connection id.
    var directConnections: [Int: (id: UInt64, incarnation: Int32, accepted: Bool)] = [:]
    var connectionSerial: UInt64 = 0

    /// Every load of the scenario in declaration order (started by its step).
    var loads: [LoadState] = []
    var loadForStep: [Int: Int] = [:]
    var pendingPushes: [[Int]] = []
    var partitions: [Partition] = []
    var faults: [ActiveFault] = []

    var stepsRemaining: Int
    var reportedDiagnostics: Set<String> = []
    var adoptedPods = 0
    /// Bumped whenever pods come, go or change labels (invalidates `endpointCache`).
    var worldVersion = 0
    var endpointCache: [Int: (version: Int, endpoints: [(pod: Int, port: Int)])] = [:]
    var activeLoads = 0
    var pendingFaultTimers = 0
    var finished = false

    init(scenario: Scenario, seed: UInt64, eventLimit: Int = ScenarioLimits.maxEvents) {
        self.scenario = scenario
        self.seed = seed
        self.eventLimit = eventLimit
        configDelay = max(0, scenario.mesh.configDelay.nanoseconds)
        endTime = scenario.duration.map { max(0, $0.nanoseconds) }
        controller = MeshController(meshConfig: scenario.mesh.meshConfig)
        meshNamespaces = Set(scenario.mesh.namespaces)
        network = SimRandom(seed: seed, stream: "network")
        loss = min(max(scenario.network.loss, 0), 1)
        switch scenario.network.latency {
        case .fixed(let d):
            fixedLatency = max(0, d.nanoseconds)
        case .distribution(let p50, let p99):
            // Log-normal with median p50 and 99th percentile p99 (z(0.99) = 2.3263).
            let median = Double(max(1, p50.nanoseconds))
            latencyMu = log(median)
            latencySigma = max(0, (log(Double(max(p50.nanoseconds, p99.nanoseconds, 1))) - latencyMu) / 2.326_347_874)
        }
        stepsRemaining = scenario.steps.count
        for (index, step) in scenario.steps.enumerated() {
            if case .load(let spec) = step.action {
                loadForStep[index] = loads.count
                loads.append(LoadState(spec: spec, headerNames: HeaderTally.names(for: spec.name, in: scenario.expectations),
                                       upstreamHeaderNames: HeaderTally.upstreamNames(for: spec.name, in: scenario.expectations)))
            }
        }
        exchanges.reserveCapacity(256)
        egressGatewayServices = scenario.egressGatewayServices
        buildInitialWorld()
        for (index, step) in scenario.steps.enumerated() {
            queue.schedule(.step(Int32(index)), at: max(0, step.at.nanoseconds))
        }
    }

    func record(_ text: String, kind: SimEvent.Kind = .note) {
        eventLog.append(SimEvent(at: MeshDuration(nanoseconds: now), kind: kind, text: text))
    }

    /// `namespace/pod`; outside the cluster (external hosts, the outside client) the bare name.
    func podName(_ pod: Int) -> String { outsidePods.contains(pod) ? pods[pod].key.name : pods[pod].key.description }

    // MARK: - Event loop

    func run(progress: ((SimProgress) -> Void)? = nil) {
        let limit = endTime ?? SimEngine.safetyLimit
        while !isDone, let deadline = queue.nextDeadline {
            if deadline > limit { break }
            if eventsProcessed >= eventLimit {
                stop("after \(eventsProcessed) events (the simulator's limit of work per run) at virtual time \(MeshDuration(nanoseconds: now)); lower the loads' requests, qps, concurrency or duration")
                finished = true
                return
            }
            guard let entry = queue.popFirst() else { break }
            now = entry.deadline
            eventsProcessed += 1
            if let progress, eventsProcessed & (SimProgress.interval - 1) == 0 {
                progress(SimProgress(events: eventsProcessed, virtualTime: MeshDuration(nanoseconds: now), endTime: endTime.map { MeshDuration(nanoseconds: $0) }))
            }
            dispatch(entry.event)
        }
        if endTime != nil {
            now = limit
        } else if !isDone, queue.isEmpty == false {
            now = limit
            stop("at \(MeshDuration(nanoseconds: limit)) of virtual time (the simulator's limit) with work still pending; give the scenario a duration or its loads fewer requests")
        }
        finished = true
    }

    /// Ends the run early: the reason goes in the result (it fails) and in the event log.
    private func stop(_ reason: String) {
        stopped = "the run was stopped " + reason
        record(stopped ?? reason)
    }

    /// Without a duration the run ends when every step ran, every load finished and no restart
    /// or fault end is pending (client loops such as bookbuyer's never finish by themselves).
    private var isDone: Bool {
        endTime == nil && stepsRemaining == 0 && activeLoads == 0 && pendingFaultTimers == 0
    }

    private func dispatch(_ event: EngineEvent) {
        switch event {
        case .step(let index): runStep(Int(index))
        case .configPush(let index): pushConfigs(Int(index))
        case .loadIssue(let load, let worker): loadIssue(Int(load), worker: Int(worker))
        case .atClientSidecar(let slot, let id): atClientSidecar(slot: slot, id: id)
        case .atGateway(let slot, let id): atGateway(slot: slot, id: id)
        case .gatewayPush: syncGatewayPods()
        case .atServer(let hop): atServer(hop)
        case .appDone(let hop): appDone(hop)
        case .atClientSidecarResponse(let hop): atClientSidecarResponse(hop)
        case .directResponse(let hop): directResponse(hop)
        case .atClient(let slot, let id): atClient(slot: slot, id: id)
        case .proxyTimer(let pod, let incarnation, let timer): proxyTimerFired(pod: Int(pod), incarnation: incarnation, timer: timer)
        case .requestTimeout(let slot, let id, let incarnation): requestTimeoutFired(slot: slot, id: id, incarnation: incarnation)
        case .connectTimeout(let pod, let incarnation, let connection): connectTimeoutFired(pod: Int(pod), incarnation: incarnation, connection: connection)
        case .connectionLost(let pod, let incarnation, let connection): upstreamLost(pod: Int(pod), incarnation: incarnation, connection: connection)
        case .appLoop(let pod, let incarnation, let loop): clientLoopIteration(pod: Int(pod), incarnation: incarnation, loop: Int(loop))
        case .tcpAtServer(let hop): tcpAtServer(hop)
        case .tcpReply(let hop): tcpReply(hop)
        case .podRestart(let pod): restartPod(Int(pod))
        case .faultEnd(let index): endFault(Int(index))
        case .sidecarRestart(let pod): restartSidecar(Int(pod))
        case .readinessProbe(let pod): probeSidecar(Int(pod))
        }
    }

    // MARK: - Network

    /// One-way latency of a message between two pods, or nil when the message is lost
    /// (packet loss or a partition).
    func transit(from a: Int, to b: Int) -> Int64? {
        if !partitions.isEmpty, partitioned(a, b) { return nil }
        if loss > 0, network.unit() < loss { return nil }
        return sampleLatency() + podExtraLatency[a] + podExtraLatency[b]
    }

    /// A latency draw without loss (connection setup round trips, resets).
    func sampleLatency() -> Int64 {
        if let fixed = fixedLatency { return fixed }
        return Int64(exp(latencyMu + latencySigma * network.normal()))
    }

    func partitioned(_ a: Int, _ b: Int) -> Bool {
        for partition in partitions where partition.separates(a, b) { return true }
        return false
    }

    // MARK: - Measurement helpers

    @inline(__always)
    func chargeCPU(_ pod: Int, _ nanoseconds: Int64) {
        meters[pod].cpu += nanoseconds
    }

    func connectionOpened(_ pod: Int) {
        meters[pod].openConnections += 1
        meters[pod].noteMemory()
    }

    func connectionClosed(_ pod: Int) {
        if meters[pod].openConnections > 0 { meters[pod].openConnections -= 1 }
    }

    func nextConnectionID() -> UInt64 {
        connectionSerial += 1
        return connectionSerial
    }

    /// The server-side id of a meshed client's upstream connection.
    @inline(__always)
    static func upstreamKey(client: Int, connection: UInt64) -> UInt64 {
        UInt64(client + 1) << 40 | (connection & 0xFF_FFFF_FFFF)
    }
}
