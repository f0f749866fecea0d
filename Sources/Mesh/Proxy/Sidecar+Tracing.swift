import MeshModel

/// What an outbound request's client span needs until its exchange ends.
struct ClientTrace: Sendable {
    var context: B3Context
    var method: String
    /// The request's path without its query.
    var path: Substring
    var startedAt: MeshInstant
    var cluster: String?
    var endpoint: SocketAddress?
}

/// What an inbound request's server span needs until the app answers.
struct ServerTrace: Sendable {
    var context: B3Context
    var method: String
    var path: Substring
    var startedAt: MeshInstant
    var peerIdentity: String?
}

// MARK: - Tracing (the config's `Spec.Tracing`)

extension Sidecar {
    /// Finished spans kept for the shell at most; more are dropped and counted.
    static let maxFinishedSpans = 1024

    /// Spans finished since the shell last took them (it sends them to the collector).
    public mutating func takeSpans() -> [TraceSpan] {
        defer { finishedSpans.removeAll(keepingCapacity: true) }
        return finishedSpans
    }

    /// An outbound HTTP request under tracing: the next hop's context (a child of the one the app
    /// sent, or a new trace) goes out as B3 headers (`setRequestHeaders`), with an `x-request-id`
    /// when the app sent none; a sampled one waits for its exchange's end as a client span.
    mutating func traceOutbound(_ id: ExchangeID, head: HTTPRequestHead, now: MeshInstant, random: inout some RandomNumberGenerator,
                                actions: inout [OutboundHTTPAction]) {
        guard let tracing = config?.spec.tracing else { return }
        if traceClock < now { traceClock = now }
        let found = B3Headers(head.headers)
        let context = B3Context(found)?.child(random: &random) ?? B3Context.root(sampledFraction: tracing.sampledFraction, random: &random)
        var headers = context.headers
        if !found.hasRequestID { headers.append(HTTPHeader(name: "x-request-id", value: Self.requestID(random: &random))) }
        actions.append(.setRequestHeaders(id, headers))
        guard context.sampled else { return }
        clientTraces[id.rawValue] = ClientTrace(context: context, method: head.method, path: head.path.prefix { $0 != "?" }, startedAt: now)
    }

    /// Follows the actions of one engine call (those from `start` on: a shell's kept list may
    /// hold others before them): where a traced exchange is sent, and its client span when it is
    /// answered.
    mutating func finishClientTraces(_ actions: [OutboundHTTPAction], from start: Int, now: MeshInstant) {
        guard !clientTraces.isEmpty else { return }
        if traceClock < now { traceClock = now }
        for action in actions[start...] {
            switch action {
            case let .send(id, _, cluster, endpoint, _, _, _):
                clientTraces[id.rawValue]?.reached(cluster, at: endpoint)
            case let .respond(id, head, _, flags):
                guard let trace = clientTraces.removeValue(forKey: id.rawValue) else { continue }
                let fields = ClientSpanFields(method: trace.method, path: trace.path, status: head.status, cluster: trace.cluster, flags: flags)
                record(TraceSpan(context: trace.context, kind: .client, start: trace.startedAt, duration: now - trace.startedAt,
                                 localService: localServiceName, remoteAddress: trace.endpoint, detail: .client(fields)))
            default:
                continue
            }
        }
    }

    /// An inbound request forwarded to the app under tracing, carrying a sampled B3 context: its
    /// server span (the caller's span id, shared) waits for the app's answer on `connection`.
    mutating func traceInbound(_ head: HTTPRequestHead, connection: ConnectionID, peerIdentity: String?, now: MeshInstant) {
        guard config?.spec.tracing != nil, let context = B3Context(head), context.sampled else { return }
        serverTraces[connection.rawValue] = ServerTrace(context: context, method: head.method, path: head.path.prefix { $0 != "?" }, startedAt: now,
                                                        peerIdentity: peerIdentity)
    }

    mutating func finishServerTrace(connection: ConnectionID, status: Int, now: MeshInstant) {
        // Tracing off (or this request unsampled, with none pending): no hash lookup per response.
        guard !serverTraces.isEmpty, let trace = serverTraces.removeValue(forKey: connection.rawValue) else { return }
        let fields = ServerSpanFields(method: trace.method, path: trace.path, status: status, peerIdentity: trace.peerIdentity)
        record(TraceSpan(context: trace.context, kind: .server, start: trace.startedAt, duration: now - trace.startedAt,
                         localService: localServiceName, remoteAddress: nil, detail: .server(fields)))
    }

    private mutating func record(_ span: TraceSpan) {
        guard finishedSpans.count < Self.maxFinishedSpans else {
            counters[counters.index("tracing.spans_dropped")] += 1
            return
        }
        finishedSpans.append(span)
    }

    /// The service `config`'s spans name: the workload the controller stamped, else the
    /// identity's service account (worked out once per applied config: `localServiceName`).
    static func localServiceName(of config: ProxyConfig) -> String {
        config.spec.workload?.name ?? serviceName(ofIdentity: config.serviceIdentity)
    }

    /// `bookbuyer.bookbuyer.cluster.local` → `bookbuyer`.
    static func serviceName(ofIdentity identity: String) -> String {
        String(identity.prefix { $0 != "." })
    }

    /// `bookstore/bookstore-v1|14001` → `bookstore-v1`.
    static func serviceName(ofCluster cluster: String) -> String {
        let afterNamespace = cluster.split(separator: "/", maxSplits: 1).last ?? Substring(cluster)
        return String(afterNamespace.prefix { $0 != "|" })
    }

    /// A UUID-shaped random id (Envoy's `x-request-id` form): two random words' 32 hex digits,
    /// grouped 8-4-4-4-12.
    static func requestID(random: inout some RandomNumberGenerator) -> String {
        let words = (random.next(), random.next())
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var written = 0
            for digit in 0..<32 {
                switch digit {
                case 8, 12, 16, 20:
                    buffer[written] = UInt8(ascii: "-")
                    written += 1
                default:
                    break
                }
                buffer[written] = B3Context.hexDigit(of: digit < 16 ? words.0 : words.1, at: digit % 16)
                written += 1
            }
            return written
        }
    }
}

extension ClientTrace {
    /// The exchange was sent to `cluster`'s `endpoint` (the latest attempt's).
    mutating func reached(_ cluster: String, at endpoint: SocketAddress) {
        self.cluster = cluster
        self.endpoint = endpoint
    }
}

extension Sidecar {
    /// Whether finished spans wait for `takeSpans()`: a cheap check for a shell that looks after
    /// every engine call.
    public var hasFinishedSpans: Bool { !finishedSpans.isEmpty }
}
