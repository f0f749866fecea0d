import Logging
import MeshModel
import MeshProxy
import NIOCore
import NIOHTTP1
import NIOSSL

/// Where a sidecar listens and how it talks to its peers.
public struct SidecarSettings: Sendable {
    /// The pod's address; every listener binds it (pods on one machine use distinct 127.x.y.z).
    public var podIP: String
    /// mTLS between sidecars, or (explicitly, for tests) plaintext with a header identity.
    public var peerTransport: PeerTransport
    public var outboundPort: Int
    public var inboundPort: Int
    /// Every admin page (`/ready`, `/stats`, `/stats/prometheus`, `/config_dump`), on a loopback
    /// address only (`adminListenAddress`): Pipy's admin port, 15000.
    public var adminPort: Int
    /// Where the admin listener binds; nil: loopback (see `adminListenAddress`).
    public var adminAddress: String?
    /// `/stats/prometheus` alone, on the pod address, for Prometheus to scrape (the pods'
    /// `prometheus.io/port: 15010`).
    public var prometheusPort: Int
    /// Connections each listener holds at once; more are accepted and closed at once, counted
    /// as `runtime.<listener>.downstream_cx_overflow`. Defaults from RLIMIT_NOFILE.
    public var connectionLimits: ConnectionLimits
    /// A TLS handshake on the inbound listener must complete within this time of the accept, or
    /// the connection closes (counted as `runtime.downstream_cx_tls_handshake_timeout`; Envoy's
    /// `transport_socket_connect_timeout`). Default 10 s. Zero disables it.
    public var tlsHandshakeTimeout: TimeAmount
    /// Request bodies stream; a copy is kept (so that a retry can resend the body) up to this size.
    /// A larger body cannot be retried (counted as `runtime.downstream_rq_body_not_replayable`),
    /// as in Envoy, whose retries stop at its per-request buffer limit.
    public var maxBufferedRequestBody: Int
    /// The workload this sidecar runs for, as metric labels (the namespace defaults to the one of
    /// the config's service identity); sent to peers in `x-fsm-stats-*` headers.
    public var workload: WorkloadLabels

    /// How app traffic reaches the sidecar: local mode (apps address the outbound listener, the
    /// Host header names the service) or capture by iptables or eBPF (SO_ORIGINAL_DST names it).
    public var capture: CaptureMode
    /// A request head must arrive completely within this time of its first byte, or the client
    /// gets 408 and the connection closes (slowloris); counted as `runtime.downstream_rq_header_timeout`.
    /// A new connection must send its first byte within this time too (or the idle timeout, if
    /// shorter), else it closes quietly (counted as an idle timeout). Default 10 s. Zero disables it.
    public var requestHeaderTimeout: TimeAmount
    /// A downstream connection with no request in progress (accepted, or kept alive after a
    /// response) closes after this time; counted as `runtime.downstream_cx_idle_timeout`.
    /// Default 300 s (longer than apps usually keep idle connections, so that a pooled connection
    /// is seldom closed under a request about to be sent on it). Zero disables it.
    public var idleTimeout: TimeAmount
    /// The pod's health probes as the injector rewrote them (`fsm sidecar --probe`): the sidecar
    /// listens on 15901-15903 for HTTP(S) probes and on 15904 for `tcpSocket` ones.
    public var probes: [SidecarProbe] = []
    /// Set when no `--log-level` was given: each applied config sets this switch from its
    /// `Spec.SidecarLogLevel` (MeshConfig's `spec.sidecar.logLevel`). Nil: the level is fixed.
    public var logLevelFromConfig: LogLevelSwitch?
    /// Where the access log goes while the config turns it on (MeshConfig
    /// `observability.remoteLogging.enable`); nil: no access log whatever the config says.
    public var accessLog: AccessLogSink?
    /// Where finished spans go instead of the config's Zipkin collector (`sim --real` collects
    /// them in process): the spans and the driver's instant zero in microseconds since the epoch.
    public var spanSink: (@Sendable ([TraceSpan], _ epochOffsetMicroseconds: Int64) -> Void)?
    /// Local mode: names outside the mesh and their addresses, looked up after the config's
    /// services, as a hosts file would answer (E5016's DNS for egress to a name). `sim --real`
    /// serves its external hosts on loopback addresses under their names this way.
    public var hosts: [String: String] = [:]
    /// A kube-proxy stand-in for egress passthrough on a machine without one: a service address
    /// (cluster IP and port) → the endpoint a passthrough connection to it reaches. `sim --real`
    /// gives it so that raw TCP passed through to a service meets that pod as in a cluster.
    public var serviceAddresses: [MeshProxy.SocketAddress: MeshProxy.SocketAddress] = [:]
    /// Local mode's stand-in for meshed pods' capture, for a proxy outside the mesh (a gateway):
    /// the addresses of meshed pods. A plain connection to one of them goes to its sidecar's
    /// inbound listener, the port it was meant for in `InboundTarget.portHeader`, as the pod's
    /// iptables would redirect it; its border then decides (`sim --real` gives its gateways these).
    public var meshedPodIPs: Set<String> = []

    public init(podIP: String, peerTransport: PeerTransport, outboundPort: Int = 15001, inboundPort: Int = 15003, adminPort: Int = 15000, maxBufferedRequestBody: Int = 64 * 1024, workload: WorkloadLabels = .unknown,
                capture: CaptureMode = .local, requestHeaderTimeout: TimeAmount = .seconds(10), idleTimeout: TimeAmount = .seconds(300),
                prometheusPort: Int = 15010, adminAddress: String? = nil,
                connectionLimits: ConnectionLimits = .forThisProcess(), tlsHandshakeTimeout: TimeAmount = .seconds(10)) {
        self.podIP = podIP
        self.peerTransport = peerTransport
        self.outboundPort = outboundPort
        self.inboundPort = inboundPort
        self.adminPort = adminPort
        self.adminAddress = adminAddress
        self.prometheusPort = prometheusPort
        self.connectionLimits = connectionLimits
        self.tlsHandshakeTimeout = tlsHandshakeTimeout
        self.maxBufferedRequestBody = maxBufferedRequestBody
        self.capture = capture
        self.requestHeaderTimeout = requestHeaderTimeout
        self.idleTimeout = idleTimeout
        self.workload = workload
    }

    /// Whether a plain connection to `endpoint` goes to a meshed pod's inbound listener
    /// (`meshedPodIPs`, local mode only).
    func capturesLocally(_ endpoint: MeshProxy.SocketAddress) -> Bool {
        !capture.isTransparent && meshedPodIPs.contains(endpoint.ip)
    }

    /// A timeout given in seconds (the CLI's unit); negative values count as zero (disabled).
    public static func timeout(seconds: Double) -> TimeAmount {
        .nanoseconds(Int64(max(0, seconds) * 1_000_000_000))
    }

    /// The address the listeners bind: the pod IP in local mode; every address under capture
    /// (iptables REDIRECT and eBPF's connect4 send outbound traffic to 127.0.0.1, inbound traffic
    /// arrives on the address of the interface it came in on).
    public var listenAddress: String { capture.isTransparent ? "0.0.0.0" : podIP }

    /// The address the admin listener binds, never every address unless `adminAddress` says so:
    /// in local mode a loopback pod IP (each pod on one machine has its own 127.x.y.z), otherwise
    /// 127.0.0.1 (under capture, the pod's own loopback).
    public var adminListenAddress: String {
        if let adminAddress { return adminAddress }
        if capture == .local, SidecarSettings.isLoopback(podIP) { return podIP }
        return "127.0.0.1"
    }

    /// An IPv4 address in 127.0.0.0/8, or ::1.
    public static func isLoopback(_ address: String) -> Bool {
        if address == "::1" || address == "localhost" { return true }
        let parts = address.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}

/// How app traffic reaches the sidecar.
public enum CaptureMode: String, Sendable, CaseIterable {
    /// No capture: apps send HTTP to the outbound listener with the service in the Host header,
    /// and sidecars reach each other's inbound listener directly.
    case local
    /// The pod's nat rules (MeshRedirect) redirect its TCP to the listeners; each connection's
    /// original destination (SO_ORIGINAL_DST) tells the sidecar where it was meant to go.
    case iptables
    /// `fsm interceptor`'s eBPF programs redirect the pod's TCP to the listeners (cgroup connect4,
    /// tc for inbound) and answer SO_ORIGINAL_DST from their maps: to the sidecar it is iptables
    /// mode without the nat table.
    case ebpf

    /// The app's connections arrive redirected, with an original destination (not local mode).
    public var isTransparent: Bool { self != .local }
}

/// Request headers between sidecars in local mode. The client sidecar connects to the peer
/// sidecar's inbound listener (`ip:<inbound port>`) instead of `ip:port`, so it names the port the
/// request was meant for. Under mTLS the source identity is the client certificate's; only the
/// explicit plaintext mode names it in `x-fsm-source-identity` (forgeable by any local process).
/// In local mode (no capture) whoever dials a pod's inbound listener names the pod's port the
/// connection was meant for in `InboundTarget.portHeader`: what the capture's original destination
/// tells under iptables (the real mode's clients outside the mesh send it too).
/// Apps can never send either header through their sidecar.
enum MeshHeaders {
    static let targetPort = InboundTarget.portHeader
    static let sourceIdentity = "x-fsm-source-identity"
    /// The client workload's metric labels, for the server sidecar's `source_*` labels.
    static let statsKind = "x-fsm-stats-kind"
    static let statsName = "x-fsm-stats-name"
    static let statsNamespace = "x-fsm-stats-namespace"
    static let statsPod = "x-fsm-stats-pod"
    static let statsPrefix = "x-fsm-stats-"
    /// Hop-by-hop headers a proxy must not forward (plus framing headers it recomputes).
    static let hopByHop: [String] = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "transfer-encoding", "content-length", "expect"]

    /// Whether an app's request header stays behind: hop-by-hop, or one of the mesh's own
    /// (an app must not pose as another identity). Compares ASCII case-insensitively without allocating.
    static func isStrippedFromAppRequest(_ name: String) -> Bool {
        for candidate in hopByHop where equalsIgnoringASCIICase(name, candidate) { return true }
        return isMeshOwn(name)
    }

    /// The mesh's own headers (target port, source identity, stats labels).
    static func isMeshOwn(_ name: String) -> Bool {
        equalsIgnoringASCIICase(name, targetPort) || equalsIgnoringASCIICase(name, sourceIdentity) || hasStatsPrefix(name)
    }

    static func hasStatsPrefix(_ name: String) -> Bool {
        hasPrefix(name, lowercase: statsPrefix)
    }

    /// Whether `string` starts with `prefix` (lowercase), ASCII case-insensitively, without allocating.
    static func hasPrefix(_ string: String, lowercase prefix: String) -> Bool {
        guard string.utf8.count >= prefix.utf8.count else { return false }
        for (x, y) in zip(string.utf8, prefix.utf8) where x != y && !(x >= 65 && x <= 90 && x + 32 == y) { return false }
        return true
    }

    static func equalsIgnoringASCIICase(_ a: String, _ lowercase: String) -> Bool {
        guard a.utf8.count == lowercase.utf8.count else { return false }
        for (x, y) in zip(a.utf8, lowercase.utf8) where x != y && !(x >= 65 && x <= 90 && x + 32 == y) { return false }
        return true
    }

    static func isHopByHop(_ name: String) -> Bool {
        hopByHop.contains { equalsIgnoringASCIICase(name, $0) }
    }

    /// The headers of `headers` that `dropped` does not take, in order, with room for `room` more
    /// (what the sidecar adds): one array, where a `remove(name:)` per dropped name would scan
    /// the headers each time and copy them the first time (they are shared with the app's head),
    /// and each `add` past the capacity would grow them again.
    static func kept(_ headers: HTTPHeaders, droppingWhere dropped: (String) -> Bool, room: Int) -> HTTPHeaders {
        var kept: [(String, String)] = []
        kept.reserveCapacity(headers.count + room)
        for (name, value) in headers where !dropped(name) { kept.append((name, value)) }
        return HTTPHeaders(kept)
    }
}

/// Owns one `Sidecar` engine and carries out its actions. Confined to one EventLoop: every
/// method must be called on `eventLoop` (the channels of all listeners and upstream connections
/// live on that loop too). It is `@unchecked Sendable` only so that NIO's `@Sendable`
/// initializer closures can capture it; the loop confinement is what makes it safe.
public final class SidecarDriver: @unchecked Sendable {
    public let eventLoop: any EventLoop
    public let settings: SidecarSettings
    let logger: Logger
    /// The shell's one clock (its loop's time: virtual on an EmbeddedEventLoop).
    let clock: SidecarClock

    var engine = Sidecar()
    var generator = ShellRandomNumberGenerator()
    var runtimeCounters = RuntimeCounters()
    /// Downstream connections per listener, against `settings.connectionLimits`.
    var admission: ConnectionAdmission
    /// Prometheus metrics (own registry per sidecar).
    public let metrics: SidecarMetrics
    /// This sidecar's workload labels (settings, with the namespace of the config's identity).
    private(set) var workloadLabels: WorkloadLabels
    /// The applied config's access-log switch (`Spec.Observability.RemoteLogging.Enable`); a
    /// gateway's is on when its settings give a sink (`GatewaySettings.accessLog`).
    internal(set) var accessLogSwitch = false
    var resolver = LocalModeResolver()
    /// The current mTLS contexts (nil in plaintext mode); new connections take these.
    var peerTLS: PeerTLS?
    /// The loop's stalls (`runtime.event_loop_stall_us` in `/stats`): set by `SidecarProcess`, whose
    /// loop it measures; nil for a driver on another loop (tests, the fuzz harness).
    var loopStalls: LoopStallMonitor?
    private(set) var appliedJSON: String?
    /// Serving what the cache directory held because the controller did not answer at start: the
    /// config, the workload certificate. Cleared by the controller's first config / certificate.
    public internal(set) var configFromCache = false
    public internal(set) var certificateFromCache = false
    /// `runtime.config_stale`: 1 while either comes from the cache.
    public var isStale: Bool { configFromCache || certificateFromCache }
    /// Requests received on the outbound and inbound listeners and not answered completely yet.
    public internal(set) var requestsInProgress = 0
    /// A gateway's mirror copies sent and not finished yet (answered, failed or timed out): a
    /// draining gateway waits for them as for its requests.
    var mirrorsInProgress = 0
    /// Shutting down: listeners are closed, answers carry `connection: close`.
    public internal(set) var isDraining = false

    private var nextExchange: UInt64 = 1
    private var nextConnection: UInt64 = 1
    /// Outbound exchanges the engine has not answered yet.
    var exchanges: [UInt64: OutboundExchange] = [:]
    /// One wake-up for the engine's request timeouts of all exchanges (see `armRequestTimeouts`).
    private var requestTimeoutTimer: Scheduled<Void>?
    private var requestTimeoutTimerDeadline: NIODeadline?
    /// Upstream connections by the engine's connection number.
    var upstreams: [UInt64: any EngineUpstream] = [:]
    /// The engine's connect timers of connections still opening, by connection number.
    private var connectTimers: [UInt64: Scheduled<Void>] = [:]
    /// Shared HTTP/2 connections (to peer sidecars and local apps) by address.
    var http2Connections: [String: HTTP2ClientConnection] = [:]
    /// The link whose response head is being reported to the engine, so that a `respond` without
    /// a local reason streams that response.
    private var delivering: (any EngineUpstream)?
    /// Opens upstream connections instead of sockets when set (`connect(host:port:timeout:initialize:)`).
    package var upstreamConnector: UpstreamConnector?
    /// Tracing (`SidecarDriver+Tracing`): the span sender, the loop's drain of the engine's spans
    /// and the sender's task, both running while the config carries `Spec.Tracing`.
    public let spanReporter: ZipkinReporter
    var spanDrain: RepeatedTask?
    /// A gateway's HTTP entry into the engine (`SidecarDriver+Gateway`); nil in a sidecar.
    var gatewayEntry: GatewayHTTPEntry?
    /// A gateway's TLS client contexts towards its backends (UpstreamTLSPolicy), one per policy.
    var gatewayUpstreamContexts: [GatewayUpstreamSecurity: NIOSSLContext] = [:]
    var reporterTask: Task<Void, Never>?
    /// Remote logging (`SidecarDriver+RemoteLogging`): the access log's shipper and its task, running
    /// while the config names a collector.
    public let logShipper: AccessLogShipper
    var shipperTask: Task<Void, Never>?

    public init(eventLoop: any EventLoop, settings: SidecarSettings, logger: Logger, metrics: SidecarMetrics = SidecarMetrics()) {
        self.eventLoop = eventLoop
        self.settings = settings
        self.logger = logger
        self.clock = SidecarClock(eventLoop: eventLoop)
        self.metrics = metrics
        self.workloadLabels = settings.workload
        self.admission = ConnectionAdmission(limits: settings.connectionLimits)
        self.spanReporter = ZipkinReporter(epochOffsetMicroseconds: Self.epochOffsetMicroseconds(), logger: logger)
        self.logShipper = AccessLogShipper(logger: logger)
        metrics.registerRuntimeCounters()
    }

    /// Monotonic time since this driver started, for the engine (`clock`), so that deadlines and
    /// the timers that check them agree.
    func now() -> MeshInstant { clock.instant() }

    func milliseconds(since start: NIODeadline) -> Double { clock.milliseconds(since: start) }

    /// A plaintext connection on the inbound listener (no mesh certificate): whether an
    /// AccessControl may admit its source address (the engine decides, and counts a refusal).
    func inboundPlaintextAdmissible(from channel: any Channel) -> Bool {
        eventLoop.preconditionInEventLoop()
        let remote = channel.remoteAddress
        let admitted = engine.inboundPlaintextAdmissible(source: MeshProxy.SocketAddress(ip: remote?.ipAddress ?? "", port: remote?.port ?? 0))
        if !admitted { logger.debug("inbound plaintext connection refused", metadata: ["remote": "\(remote?.description ?? "")"]) }
        return admitted
    }

    func newConnectionID() -> ConnectionID {
        defer { nextConnection += 1 }
        return ConnectionID(nextConnection)
    }

    // MARK: Config

    /// What the driver and its engine hold for traffic in progress (all zero once every
    /// connection closed; the fuzz harness checks it after each input).
    package var occupancy: (engine: SidecarOccupancy, exchanges: Int, upstreams: Int, requestsInProgress: Int) {
        (engine.occupancy, exchanges.count, upstreams.count, requestsInProgress)
    }

    public var isReady: Bool { engine.config != nil }
    public var config: ProxyConfig? { engine.config }

    /// Applies a config; a rejected one leaves the last good config in place (the engine counts it).
    @discardableResult
    public func apply(_ config: ProxyConfig) -> ConfigApplyResult {
        eventLoop.preconditionInEventLoop()
        let result = engine.apply(config)
        if case .applied = result {
            resolver = LocalModeResolver(config, hosts: settings.hosts)
            appliedJSON = config.renderedJSON(pretty: true)
            applyLogLevel(of: config)
            accessLogSwitch = config.spec.accessLog
            configureTracing(config.spec.tracing)
            configureRemoteLogging(config.spec.accessLog ? config.spec.remoteLogging : nil)
            workloadLabels = WorkloadLabels(settings: settings.workload, config: config)
        }
        perform(engine.takeConfigActions())
        return result
    }

    /// MeshConfig's `spec.sidecar.logLevel`, as the config carries it, when the command line did
    /// not fix the level. An unknown name keeps the level (and says so).
    private func applyLogLevel(of config: ProxyConfig) {
        guard let levelSwitch = settings.logLevelFromConfig else { return }
        let name = config.spec.sidecarLogLevel
        guard let threshold = LogLevelName.configThreshold(name) else {
            logger.warning("unknown SidecarLogLevel in the config, keeping the log level", metadata: ["level": "\(name)"])
            return
        }
        if levelSwitch.threshold != threshold { logger.notice("log level set by the config", metadata: ["level": "\(name)"]) }
        levelSwitch.set(threshold)
    }

    /// The engine's counters plus the shell's, as `name: value` lines.
    public func statsText() -> String {
        eventLoop.preconditionInEventLoop()
        var lines = engine.stats.text
        for (name, value) in runtimeCounters.entries() { lines += "\(name): \(value)\n" }
        for listener in ListenerKind.allCases {
            lines += "\(SidecarDriver.activeConnectionsStat(listener)): \(admission.active(listener))\n"
        }
        lines += "\(SidecarMetrics.staleStatName): \(isStale ? 1 : 0)\n"
        if let loopStalls { lines += LoopStallHistogram.statsLines(loopStalls.stalls) }
        return lines
    }

    public func prometheusText() -> String {
        eventLoop.preconditionInEventLoop()
        for listener in ListenerKind.allCases {
            metrics.setRuntimeGauge(SidecarDriver.activeConnectionsStat(listener), to: admission.active(listener))
        }
        metrics.setStale(isStale)
        let text = metrics.exposition(engineStats: engine.stats, source: workloadLabels)
        return loopStalls.map { text + LoopStallHistogram.prometheusLines($0.stalls) } ?? text
    }

    public func configDump() -> String? { appliedJSON }

    func count(_ name: RuntimeCounters.Name) {
        runtimeCounters[name] += 1
        metrics.count(name)
    }

    // MARK: Outbound exchanges

    /// A request from the app on the outbound listener: complete, or with its body still streaming in.
    func outboundRequest(from downstream: OutboundDownstreamHandler, head: NIOHTTP1.HTTPRequestHead, body: RequestBody?) {
        let id = nextExchange
        nextExchange += 1
        let (path, authority) = SidecarDriver.originForm(head)
        var engineHeaders: [MeshProxy.HTTPHeader] = []
        engineHeaders.reserveCapacity(head.headers.count)
        for (name, value) in head.headers { engineHeaders.append(MeshProxy.HTTPHeader(name: name, value: value)) }
        // Room for host, te, content-length, the source identity, four stats headers, connection
        // and the target port (`attemptHead`).
        var upstreamHeaders = MeshHeaders.kept(head.headers, droppingWhere: MeshHeaders.isStrippedFromAppRequest, room: 10)
        if !upstreamHeaders.contains(name: "host") { upstreamHeaders.add(name: "host", value: authority) }
        // gRPC servers want `te: trailers` (the one hop-by-hop value HTTP/2 allows).
        if GRPCLocalReply.isGRPC(contentType: head.headers.first(name: "content-type")) { upstreamHeaders.add(name: "te", value: "trailers") }
        SidecarDriver.frame(&upstreamHeaders, body: body, appHead: head)
        if peerTLS == nil, let identity = engine.config?.serviceIdentity { upstreamHeaders.add(name: MeshHeaders.sourceIdentity, value: identity) }
        addStatsHeaders(to: &upstreamHeaders)
        let engineHead = MeshProxy.HTTPRequestHead(method: head.method.rawValue, path: path, authority: authority, headers: engineHeaders)
        // The app's `connection` was dropped with the other hop-by-hop headers.
        upstreamHeaders.add(name: "connection", value: "keep-alive")
        let upstreamHead = NIOHTTP1.HTTPRequestHead(version: .http1_1, method: head.method, uri: path, headers: upstreamHeaders)
        let startedAt = clock.now()
        exchanges[id] = OutboundExchange(downstream: downstream, head: upstreamHead, body: body, startedAt: startedAt,
                                         log: beginAccessLog(.outbound, head: head, path: path, authority: authority, peerIdentity: nil))
        downstream.currentExchange = id
        if let gateway = downstream.gateway {
            perform(gatewayRequest(ExchangeID(id), head: engineHead, origin: gateway, from: downstream))
        } else {
            // Under capture the connection's original destination names the service; in local
            // mode (or a connection made straight to the listener) the Host header does. A
            // gateway's routes name their backends: it resolves nothing here.
            let destination = downstream.originalDestination ?? resolver.destination(forHost: authority)
            perform(engine.outboundRequest(ExchangeID(id), head: engineHead, destination: destination, now: now(), random: &generator))
        }
        if let body, !body.isReplayable { outboundBodyNotReplayable(id) }
    }

    /// The body of a request in progress outgrew the replay buffer: the engine will not retry it.
    func outboundBodyNotReplayable(_ id: UInt64) {
        count(.requestBodyNotReplayable)
        perform(engine.requestBodyNotReplayable(ExchangeID(id)))
    }

    /// The framing of a forwarded request: the length of a complete body, or the app's own
    /// `content-length` for a body still streaming (without one it goes chunked, or as HTTP/2 DATA).
    static func frame(_ headers: inout HTTPHeaders, body: RequestBody?, appHead: NIOHTTP1.HTTPRequestHead) {
        guard let body else {
            headers.add(name: "content-length", value: "0")
            return
        }
        if body.isComplete {
            headers.add(name: "content-length", value: String(body.receivedBytes))
        } else if !appHead.headers.contains(name: "transfer-encoding"), let length = appHead.headers.first(name: "content-length") {
            headers.add(name: "content-length", value: length)
        }
    }

    /// The app's connection closed before its answer.
    func outboundCancelled(_ id: UInt64) {
        guard var exchange = exchanges.removeValue(forKey: id) else { return }
        exchange.body?.discard()
        exchange.log?.entry.flags.insert(.downstreamConnectionTermination)
        exchange.log?.entry.bytesReceived = exchange.body?.receivedBytes ?? 0
        writeAccessLog(exchange.log)
        perform(engine.cancelOutbound(ExchangeID(id)))
    }

    /// The engine's request timeout of exchange `id`: noted on the exchange, with a wake-up no
    /// later than its deadline.
    private func startRequestTimer(_ id: UInt64, after: MeshDuration) {
        guard exchanges[id] != nil else { return }
        let deadline = clock.deadline(after: after)
        exchanges[id]?.timeoutAt = deadline
        armRequestTimeouts(at: deadline)
    }

    /// Makes sure a wake-up comes no later than `deadline`. Exchanges that end leave it in place:
    /// when it fires, `requestTimeoutsDue` reports the timers past their deadline to the engine
    /// and sleeps until the next one. Exchanges mostly share one timeout, so while requests flow
    /// this is about one scheduled task per timeout period, not a schedule and a cancel (a linear
    /// search of the loop's task queue) per request.
    private func armRequestTimeouts(at deadline: NIODeadline) {
        if let scheduled = requestTimeoutTimerDeadline, scheduled <= deadline { return }
        requestTimeoutTimer?.cancel()
        requestTimeoutTimerDeadline = deadline
        requestTimeoutTimer = clock.schedule(at: deadline) { [self] in requestTimeoutsDue() }
    }

    private func requestTimeoutsDue() {
        requestTimeoutTimer = nil
        requestTimeoutTimerDeadline = nil
        let current = clock.now()
        var due: [UInt64] = []
        for (id, exchange) in exchanges {
            if let timeoutAt = exchange.timeoutAt, timeoutAt <= current { due.append(id) }
        }
        // In order of arrival, as separate timers would have fired.
        for id in due.sorted() {
            exchanges[id]?.timeoutAt = nil
            perform(engine.timerFired(.requestTimeout(ExchangeID(id)), now: now(), random: &generator))
        }
        var next: NIODeadline?
        for exchange in exchanges.values {
            if let timeoutAt = exchange.timeoutAt, next.map({ timeoutAt < $0 }) ?? true { next = timeoutAt }
        }
        if let next { armRequestTimeouts(at: next) }
    }

    /// `GET http://host/path` (proxy form) → (`/path`, `host`); otherwise the URI and the Host header.
    static func originForm(_ head: NIOHTTP1.HTTPRequestHead) -> (path: String, authority: String) {
        let uri = head.uri
        if uri.utf8.count > 7, MeshHeaders.hasPrefix(uri, lowercase: "http://") {
            let rest = uri.dropFirst(7)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let path = slash == rest.endIndex ? "/" : String(rest[slash...])
            return (path, String(rest[..<slash]))
        }
        return (uri, head.headers.first(name: "host") ?? "")
    }

    /// This workload's labels for the peer's `source_*` metric labels (the known ones only).
    func addStatsHeaders(to headers: inout HTTPHeaders) {
        let labels = workloadLabels
        if !labels.kind.isEmpty { headers.add(name: MeshHeaders.statsKind, value: labels.kind) }
        if !labels.name.isEmpty { headers.add(name: MeshHeaders.statsName, value: labels.name) }
        if !labels.namespace.isEmpty { headers.add(name: MeshHeaders.statsNamespace, value: labels.namespace) }
        if !labels.pod.isEmpty { headers.add(name: MeshHeaders.statsPod, value: labels.pod) }
    }

    // MARK: Upstream events

    func upstreamResponseHead(on link: any EngineUpstream, exchange: UInt64, attempt: Int, head: NIOHTTP1.HTTPResponseHead) {
        var headers: [MeshProxy.HTTPHeader] = []
        headers.reserveCapacity(head.headers.count)
        for (name, value) in head.headers { headers.append(MeshProxy.HTTPHeader(name: name, value: value)) }
        let engineHead = MeshProxy.HTTPResponseHead(status: Int(head.status.code), headers: headers)
        delivering = link
        let actions = engine.upstreamResponse(ExchangeID(exchange), attempt: attempt, head: engineHead, now: now(), random: &generator)
        perform(actions)
        delivering = nil
    }

    /// The head an attempt of exchange `id` sends. In the mesh: the stored head, naming the
    /// endpoint's port, changed in place (its headers are not shared then, so not copied; the
    /// header has room, `outboundRequest`). Out of the mesh: a copy as the app sent it.
    private func attemptHead(_ id: UInt64, cluster: String, endpoint: MeshProxy.SocketAddress) -> NIOHTTP1.HTTPRequestHead? {
        guard dialsDirectly(cluster) else {
            exchanges[id]?.head.headers.replaceOrAdd(name: MeshHeaders.targetPort, value: String(endpoint.port))
            return exchanges[id]?.head
        }
        guard var head = exchanges[id]?.head else { return nil }
        // None of the mesh's headers (a previous attempt's port included).
        for (name, _) in head.headers where MeshHeaders.isMeshOwn(name) { head.headers.remove(name: name) }
        if settings.capturesLocally(endpoint) { head.headers.replaceOrAdd(name: MeshHeaders.targetPort, value: String(endpoint.port)) }
        // Through the egress gateway: absolute form names the destination, the Host stays the app's.
        if let target = engine.egressGatewayTarget(ofCluster: cluster) { head.uri = "http://\(target)\(head.uri)" }
        return head
    }

    /// The connection the engine asked for is open.
    func upstreamConnected(_ link: any EngineUpstream) {
        guard upstreams[link.id] === link else { return }
        perform(engine.upstreamConnected(UpstreamConnectionID(link.id)))
    }

    /// The upstream channel closed, or (`connectFailed`) could not connect.
    func upstreamLost(_ link: any EngineUpstream, connectFailed: Bool = false) {
        if upstreams[link.id] === link { upstreams[link.id] = nil }
        perform(engine.upstreamConnectionLost(UpstreamConnectionID(link.id), connectFailed: connectFailed, now: now(), random: &generator))
    }

    // MARK: Actions

    func perform(_ actions: [OutboundHTTPAction]) {
        for action in actions {
            switch action {
            case let .send(id, attempt, cluster, endpoint, connection, newConnection, appProtocol):
                // Not bound to a local: a copy would share the stored head's headers, and
                // `attemptHead` changes them in place.
                guard exchanges[id.rawValue] != nil else { continue }
                let link: any EngineUpstream
                if newConnection, appProtocol == .grpc {
                    link = UpstreamHTTP2Link(id: connection.rawValue, driver: self, endpoint: endpoint, connectTimeout: Self.connectBackstop)
                    upstreams[connection.rawValue] = link
                } else if newConnection {
                    let http1 = UpstreamLink(id: connection.rawValue, driver: self)
                    upstreams[connection.rawValue] = http1
                    http1.connect(to: endpoint, timeout: Self.connectBackstop, cluster: cluster, egress: dialsDirectly(cluster))
                    link = http1
                } else if let existing = upstreams[connection.rawValue] {
                    link = existing
                } else {
                    // The shell already saw this connection go; tell the engine (outside this loop pass).
                    let lostID = connection.rawValue
                    eventLoop.execute { [self] in
                        perform(engine.upstreamConnectionLost(UpstreamConnectionID(lostID), now: now(), random: &generator))
                    }
                    continue
                }
                exchanges[id.rawValue]?.cluster = cluster
                exchanges[id.rawValue]?.log?.entry.upstreamCluster = cluster
                exchanges[id.rawValue]?.log?.entry.upstreamHost = endpoint.description
                guard let head = attemptHead(id.rawValue, cluster: cluster, endpoint: endpoint) else { continue }
                let body = exchanges[id.rawValue]?.body
                // A retry: the previous attempt stops taking the body (the link attaches it when
                // the request's turn on the connection comes).
                body?.detachCurrentSink()
                link.send(exchange: id.rawValue, attempt: attempt, head: head, body: body)
            case let .startTimer(.requestTimeout(id), after):
                startRequestTimer(id.rawValue, after: after)
            case let .cancelTimer(.requestTimeout(id)):
                exchanges[id.rawValue]?.timeoutAt = nil
            case let .startTimer(.connectTimeout(connection), after):
                connectTimers[connection.rawValue] = clock.schedule(at: clock.deadline(after: after)) { [self] in
                    connectTimers[connection.rawValue] = nil
                    perform(engine.timerFired(.connectTimeout(connection), now: now(), random: &generator))
                }
            case let .cancelTimer(.connectTimeout(connection)):
                connectTimers.removeValue(forKey: connection.rawValue)?.cancel()
            case .cancelTimer:
                // Other timers are left to fire; the engine ignores them.
                break
            case let .startTimer(timer, after):
                clock.schedule(at: clock.deadline(after: after)) { [self] in
                    perform(engine.timerFired(timer, now: now(), random: &generator))
                }
            case let .respond(id, head, local, flags):
                guard var exchange = exchanges.removeValue(forKey: id.rawValue) else { continue }
                metrics.recordOutboundRequest(source: workloadLabels, cluster: exchange.cluster, status: head.status, milliseconds: milliseconds(since: exchange.startedAt))
                exchange.log?.entry.finish(status: head.status, flags: flags, bytesReceived: exchange.body?.receivedBytes ?? 0)
                if local == nil, let link = delivering, link.isDelivering(exchange: id.rawValue) {
                    // Written when the response has streamed (its bytes counted on the way).
                    exchange.downstream.pendingLog = exchange.log
                    // A gateway's answer head is the engine's (ResponseHeaderModifier, set-cookie).
                    if gatewayEntry != nil { exchange.downstream.responseHead = head }
                    link.forwardResponse(to: exchange.downstream)
                } else {
                    exchange.log?.entry.bytesSent = head.body?.utf8.count ?? 0
                    writeAccessLog(exchange.log)
                    if local == .requestTimeout {
                        logger.info("upstream request timed out", metadata: ["path": "\(exchange.head.uri)", "cluster": "\(exchange.cluster ?? "")"])
                    } else if let local {
                        logger.debug("outbound request answered locally", metadata: ["reason": "\(local.rawValue)", "status": "\(head.status)"])
                    }
                    exchange.downstream.respondLocally(head)
                }
            case let .closeUpstream(connection):
                upstreams.removeValue(forKey: connection.rawValue)?.closeWhenDone()
            case let .setRequestHeaders(id, headers):
                guard var exchange = exchanges[id.rawValue] else { continue }
                exchange.head.headers.replaceOrAdd(tracingHeaders: headers)
                exchange.log?.entry.requestID = exchange.head.headers.first(name: "x-request-id")
                exchange.log?.entry.traceID = exchange.head.headers.first(name: "x-b3-traceid")
                exchanges[id.rawValue] = exchange
            case let .rewriteRequest(id, head):
                guard var exchange = exchanges[id.rawValue] else { continue }
                exchange.head.method = NIOHTTP1.HTTPMethod(rawValue: head.method)
                exchange.head.uri = head.path
                var headers = HTTPHeaders([("host", head.authority)])
                for header in head.headers where header.name.lowercased() != "host" { headers.add(name: header.name, value: header.value) }
                exchange.head.headers = headers
                exchanges[id.rawValue] = exchange
            case let .mirror(id, cluster, endpoint, head):
                mirror(id, cluster: cluster, endpoint: endpoint, head: head)
            case let .healthProbe(probe):
                healthProbe(probe)
            }
        }
    }

    /// NIO's own connect timeout, only a backstop: the engine's connect timer (the cluster's
    /// `ConnectTimeout`) decides, and the kernel's SYN retries end a connect long before this.
    static let connectBackstop: TimeAmount = .hours(1)
}

/// An outbound request the engine is working on.
struct OutboundExchange {
    let downstream: OutboundDownstreamHandler
    /// The request as it goes upstream (origin form, hop-by-hop headers removed, identity added).
    var head: NIOHTTP1.HTTPRequestHead
    /// nil: the request has no body.
    var body: RequestBody?
    var startedAt: NIODeadline
    /// Its access-log entry while the access log is on.
    var log: PendingAccessLog?
    /// When the engine's request timeout passes (nil: no timer, or it was cancelled).
    var timeoutAt: NIODeadline?
    /// The cluster of the latest attempt (the destination labels of the metrics).
    var cluster: String?
}

// MARK: - Local answers

extension SidecarDriver {
    /// An engine's local answer as the downstream gets it: a gRPC status for a gRPC request.
    func localAnswer(_ head: MeshProxy.HTTPResponseHead, grpc: Bool) -> MeshProxy.HTTPResponseHead {
        guard grpc, head.status > 0, head.status != 200 else { return head }
        count(.grpcLocalReply)
        return GRPCLocalReply.rewrite(head)
    }
}

/// The inbound listener's local-mode stand-in for a captured connection's original destination port.
public enum InboundTarget {
    public static let portHeader = "x-fsm-target-port"
}
