import Histogram
import MeshControl
import MeshModel
import MeshProxy

/// One fortio-like worker: a connection and a share of the requests.
struct LoadWorker {
    /// Requests (calls) this worker makes; `Int.max` when only the duration bounds it.
    var quota: Int
    var issued = 0
    var busy = false
    var done = false
    /// Open loop: when this worker's next request is due.
    var nextScheduled: Int64 = 0
    var callMeasuredFrom: Int64 = 0
    // TCP connection (tcp:// loads).
    var tcpOpen = false
    var tcpAccepted = false
    var tcpServer = -1
    var tcpServerIncarnation: Int32 = 0
    var tcpServerPort = 0
    /// The client sidecar's downstream connection id (0: client unmeshed).
    var tcpClientConnection: UInt64 = 0
    var tcpServerConnection: UInt64 = 0
    /// Egress passthrough (an `egress|` cluster): sent in plain, so the server sees no mesh identity.
    var tcpPlaintext = false
    /// Through the egress gateway: its pod (-1: none) and its connection to the destination.
    var tcpGateway = -1
    var tcpGatewayIncarnation: Int32 = 0
    var tcpGatewayConnection: UInt64 = 0
    /// Distinguishes calls so a stale reply is never taken for the current one.
    var tcpGeneration: UInt32 = 0
}

/// A load generator (fortio-like) and what it observed.
///
/// - Requests are split over `concurrency` workers like fortio: each gets `n / c`, and the
///   remainder goes to the LAST workers (with `-c 3 -n 10`: 3, 3, 4). Workers start in order, so
///   worker 0 opens the first connection (the TCP rate-limit demo's 3 of 10).
/// - Open loop (`qps`): each worker sends at `c / qps` intervals, worker w offset by `w / qps`;
///   when a worker is still busy its next request goes out as soon as it is free, and latency is
///   measured from the scheduled time (coordinated omission corrected).
/// - Closed loop: each worker sends its next request when the previous one finished.
/// - Neither `requests` nor `duration`: 5 s, fortio's default. Requests still in flight at the end of
///   `duration` are waited for (fortio does the same).
/// - Each worker keeps its connection; after a failure (status 0) it opens a new one.
struct LoadState {
    var spec: LoadSpec
    var client = -1
    var isTCP = false
    var scheme: LoadURL.Scheme = .http
    /// https:// loads: the client's handshake.
    var hello: TLSClientHello?
    /// grpc:// loads: calls by gRPC status.
    var grpcCounts: [Int: Int] = [:]
    /// https:// loads: failed handshakes.
    var tlsFailures = 0
    var head: HTTPRequestHead
    var destination: SocketAddress?
    var workers: [LoadWorker] = []
    var started = false
    var finished = false
    var startedAt: Int64 = 0
    var finishedAt: Int64 = 0
    var deadline: Int64 = .max
    /// Per-worker interval of an open loop; 0: closed loop.
    var interval: Int64 = 0

    var completed = 0
    private var statusTally = CountTable()
    var statusCounts: [Int: Int] { statusTally.counts }
    /// Requests whose answer carried response flags, by `ResponseFlags.rawValue`.
    var flagCounts: [UInt16: Int] = [:]
    /// By deployment index.
    private var backendTally = CountTable()
    var backendCounts: [Int: Int] { backendTally.counts }
    /// Responses by body (index into `SimEngine.bodyTexts`).
    var bodyCounts: [Int] = []
    var histogram: Histogram<UInt64>
    var maxLatency: Int64 = 0
    /// Per 1 s bucket: key `bucket << 20 | status`, and `bucket << 20 | deployment`.
    private var statusBucketTally = SecondCountTable()
    private var backendBucketTally = SecondCountTable()
    var statusBuckets: [Int: Int] { statusBucketTally.counts }
    var backendBuckets: [Int: Int] { backendBucketTally.counts }

    /// The response headers `headers:` expectations ask about.
    var headerTally: HeaderTally
    /// The request headers `upstreamHeaders:` expectations ask about, as apps received them.
    var upstreamTally: HeaderTally
    /// `cookies: true`: the cookies responses set, `name=value` by name, sent with later requests.
    var cookieJar = CookieJar()

    init(spec: LoadSpec, headerNames: [String] = [], upstreamHeaderNames: [String] = []) {
        self.spec = spec
        headerTally = HeaderTally(names: headerNames)
        upstreamTally = HeaderTally(names: upstreamHeaderNames)
        head = HTTPRequestHead(authority: "")
        // Microseconds, up to one hour, three significant digits.
        histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        histogram.autoResize = true
    }

    mutating func record(status: Int, deployment: Int, body: Int32, latency: Int64, at time: Int64) {
        completed += 1
        if body >= 0 {
            let index = Int(body)
            if index >= bodyCounts.count { bodyCounts += repeatElement(0, count: index + 1 - bodyCounts.count) }
            bodyCounts[index] += 1
        }
        statusTally.add(status)
        let micros = UInt64(max(0, (latency + 500) / 1000))
        _ = histogram.record(max(1, micros))
        if latency > maxLatency { maxLatency = latency }
        let bucket = Int(time / 1_000_000_000)
        statusBucketTally.add(status & 0xFFFFF, at: bucket)
        if deployment >= 0 {
            backendTally.add(deployment)
            backendBucketTally.add(deployment, at: bucket)
        }
    }
}

extension SimEngine {
    static let fortioDefaultDuration: Int64 = 5_000_000_000

    func startLoad(_ index: Int) {
        var load = loads[index]
        let spec = load.spec
        guard !load.started else { return }
        load.started = true
        load.startedAt = now
        defer { loads[index] = load }
        func fail(_ problem: String) {
            load.finished = true
            load.finishedAt = now
            record("load \(spec.name): \(problem)")
        }
        // The parser accepted only URLs that parse; a scenario built in code may still hold another.
        let url: LoadURL
        do throws(LoadURL.Problem) { url = try LoadURL(parsing: spec.url) } catch { return fail("url \(error.message)") }
        let parts = spec.from.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || spec.isExternal else { return fail("from \"\(spec.from)\" is not namespace/deployment or external") }
        let client: Int
        if spec.isExternal, let outside = externalClient {
            client = outside
        } else if let deployment = deploymentIndex[spec.from], let first = deployments[deployment].pods.first(where: { !pods[$0].removed }) {
            client = first
        } else if let pod = podIndex[PodKey(namespace: parts[0], name: parts[1])] {
            client = pod
        } else {
            return fail("no pod for \(spec.from)")
        }
        load.client = client
        if !pods[client].hasSidecar { closeDirectConnections(of: client) }
        load.isTCP = url.isTCP
        load.scheme = url.scheme
        if url.scheme == .https { load.hello = clientHello(spec, url: url) }
        load.destination = spec.isExternal
            ? resolveFromOutside(host: url.host).map { SocketAddress(ip: IPv4.format($0), port: url.port) }
            : resolveAddress(host: url.host, port: url.port, clientNamespace: parts[0])
        if load.destination == nil { record("load \(spec.name): \(url.host) does not resolve; every request fails") }
        if url.scheme == .https, pods[client].hasSidecar, !relaysTLS(to: load.destination) {
            // Inside the mesh the sidecars would wrap the app's TLS in their mTLS: not modelled.
            return fail("https:// from a meshed pod to a service or pod of the cluster is not modelled (its sidecar relays the TLS as raw TCP: use a tcp:// load)")
        }
        load.head = HTTPRequestHead(method: spec.method, path: url.path, authority: url.explicitPort ? "\(url.host):\(url.port)" : url.host,
                                    headers: spec.headers.map { HTTPHeader(name: $0.name, value: $0.value) })
        if url.scheme == .grpc { load.head = LoadState.grpcHead(load.head) }
        if spec.bodyBytes > 0 { load.head.headers.append(HTTPHeader(name: "content-length", value: String(spec.bodyBytes))) }
        // The parser bounds it; a scenario built in code is held to the same limit.
        let concurrency = min(max(1, spec.concurrency), ScenarioLimits.maxConcurrency)
        var quotas = Array(repeating: Int.max, count: concurrency)
        if let total = spec.requests {
            let base = max(0, total) / concurrency, remainder = max(0, total) % concurrency
            for worker in 0..<concurrency { quotas[worker] = base + (worker >= concurrency - remainder ? 1 : 0) }
        }
        if let duration = spec.duration {
            load.deadline = now + max(0, duration.nanoseconds)
        } else if spec.requests == nil {
            load.deadline = now + SimEngine.fortioDefaultDuration
        }
        if let qps = spec.qps, qps > 0 {
            load.interval = max(1, Int64((Double(concurrency) / qps * 1e9).rounded()))
        }
        load.workers = quotas.map { LoadWorker(quota: $0, done: $0 == 0) }
        activeLoads += 1
        record("load \(spec.name) started: \(spec.url) from \(podName(client))", kind: .load)
        for worker in 0..<concurrency where quotas[worker] > 0 {
            let first = load.interval > 0 ? now + Int64((Double(worker) / spec.qps! * 1e9).rounded()) : now
            load.workers[worker].nextScheduled = first
            queue.schedule(.loadIssue(load: Int32(index), worker: Int32(worker)), at: first)
        }
        if load.workers.allSatisfy(\.done) {
            activeLoads -= 1
            load.finished = true
            load.finishedAt = now
        }
    }

    func loadIssue(_ index: Int, worker: Int) {
        guard !loads[index].finished, !loads[index].workers[worker].busy, !loads[index].workers[worker].done else { return }
        let open = loads[index].interval > 0
        let scheduled = open ? loads[index].workers[worker].nextScheduled : now
        if loads[index].workers[worker].issued >= loads[index].workers[worker].quota || scheduled >= loads[index].deadline {
            loads[index].workers[worker].done = true
            return checkLoadFinished(index)
        }
        loads[index].workers[worker].issued += 1
        loads[index].workers[worker].busy = true
        loads[index].workers[worker].nextScheduled = scheduled + loads[index].interval
        loads[index].workers[worker].callMeasuredFrom = scheduled
        if loads[index].isTCP {
            tcpCall(index, worker: worker)
        } else {
            // The head and the jar are read in place: a computed property of `loads[index]` copied the whole load state per request.
            let head = LoadState.head(loads[index].head, cookies: loads[index].cookieJar.header)
            issueHTTP(origin: .load(Int32(index), worker: Int32(worker)), client: loads[index].client, head: head,
                      destination: loads[index].destination, measuredFrom: scheduled, bodyBytes: loads[index].spec.bodyBytes, tls: loads[index].hello, udp: loads[index].scheme == .udp)
        }
    }

    func loadCompleted(_ index: Int, worker: Int, status: Int, server: Int, body: Int32 = -1, flags: ResponseFlags = [], measuredFrom: Int64,
                       head: HTTPResponseHead? = nil, tlsFailed: Bool = false) {
        loads[index].record(status: status, deployment: server >= 0 ? pods[server].deployment : -1, body: body, latency: now - measuredFrom, at: now)
        if tlsFailed { loads[index].tlsFailures += 1 }
        if loads[index].scheme == .grpc { loads[index].grpcCounts[GRPCStatus.of(status: status, head: head), default: 0] += 1 }
        if !flags.isEmpty { loads[index].flagCounts[flags.rawValue, default: 0] += 1 }
        if status != 0, let head, !loads[index].headerTally.isEmpty { loads[index].headerTally.record { head.header($0) } }
        if loads[index].spec.cookies, let head { loads[index].keepCookies(of: head) }
        loads[index].workers[worker].busy = false
        let next = loads[index].workers[worker].nextScheduled
        if loads[index].interval > 0 && next > now {
            queue.schedule(.loadIssue(load: Int32(index), worker: Int32(worker)), at: next)
        } else {
            loadIssue(index, worker: worker)
        }
    }

    private func checkLoadFinished(_ index: Int) {
        guard !loads[index].finished, loads[index].workers.allSatisfy({ $0.done && !$0.busy }) else { return }
        loads[index].finished = true
        loads[index].finishedAt = now
        activeLoads -= 1
        for worker in loads[index].workers.indices { tcpClose(index, worker: worker) }
        record("load \(loads[index].spec.name) finished: \(ReportFormat.count(loads[index].completed, "request"))", kind: .load)
    }

    // MARK: - bookbuyer / bookthief client loops (demos.md §1.2)

    func startClientLoops(_ pod: Int) {
        let behavior = deployments[pods[pod].deployment].app
        guard behavior.clientLoops > 0, pods[pod].alive else { return }
        pods[pod].app.loops = Array(repeating: ClientLoop(), count: behavior.clientLoops)
        for loop in 0..<behavior.clientLoops {
            queue.schedule(.appLoop(pod: Int32(pod), incarnation: pods[pod].appIncarnation, loop: Int32(loop)), at: now)
        }
    }

    func clientLoopIteration(pod: Int, incarnation: Int32, loop: Int) {
        guard pods[pod].alive, pods[pod].appIncarnation == incarnation, loop < pods[pod].app.loops.count else { return }
        pods[pod].app.loops[loop].iterationStart = now
        pods[pod].app.loops[loop].buyFirst = pods[pod].app.random.below(2) == 1
        pods[pod].app.loops[loop].done = 0
        issueLoopRequest(pod: pod, loop: loop, buy: pods[pod].app.loops[loop].buyFirst)
    }

    private func issueLoopRequest(pod: Int, loop: Int, buy: Bool) {
        let behavior = deployments[pods[pod].deployment].app
        let hostPort = behavior.bookstoreHost
        let host = String(hostPort.prefix(while: { $0 != ":" }))
        let destination = resolveAddress(host: host, port: 14001, clientNamespace: pods[pod].key.namespace)
        let userAgent = HTTPHeader(name: "user-agent", value: "Go-http-client/1.1")
        let head = HTTPRequestHead(method: "GET", path: buy ? "/buy-a-book/new" : "/books-bought", authority: hostPort,
                                   headers: buy ? [userAgent] : [HTTPHeader(name: "client-app", value: "bookbuyer"), userAgent])
        issueHTTP(origin: .clientLoop(pod: Int32(pod), loop: Int32(loop), buy: buy), client: pod, head: head, destination: destination, measuredFrom: now)
    }

    func clientLoopResponse(pod: Int, loop: Int, buy: Bool, head: HTTPResponseHead) {
        guard pods[pod].alive, loop < pods[pod].app.loops.count else { return }
        if buy, head.status == 200, let identity = head.header("Identity") {
            if identity.hasPrefix("bookstore-v1") { pods[pod].app.booksBoughtV1 += 1 }
            else if identity.hasPrefix("bookstore-v2") { pods[pod].app.booksBoughtV2 += 1 }
        }
        pods[pod].app.loops[loop].done += 1
        if pods[pod].app.loops[loop].done == 1 {
            issueLoopRequest(pod: pod, loop: loop, buy: !pods[pod].app.loops[loop].buyFirst)
        } else {
            let period = deployments[pods[pod].deployment].app.loopPeriod
            let next = max(now, pods[pod].app.loops[loop].iterationStart + period)
            queue.schedule(.appLoop(pod: Int32(pod), incarnation: pods[pod].appIncarnation, loop: Int32(loop)), at: next)
        }
    }
}

extension LoadState {
    /// A gRPC call as grpcurl sends it: POST to `/pkg.Service/Method` with content-type application/grpc.
    static func grpcHead(_ head: HTTPRequestHead) -> HTTPRequestHead {
        var call = head
        call.method = "POST"
        call.headers.removeAll { ["content-type", "te"].contains($0.name.lowercased()) }
        call.headers += [HTTPHeader(name: "content-type", value: "application/grpc"), HTTPHeader(name: "te", value: "trailers")]
        return call
    }

    /// The load's request, with the jar's cookies (its `header`) when it keeps them.
    static func head(_ head: HTTPRequestHead, cookies: String?) -> HTTPRequestHead {
        guard let cookies else { return head }
        var withCookies = head
        withCookies.headers.append(HTTPHeader(name: "cookie", value: cookies))
        return withCookies
    }

    /// Keeps each `set-cookie` of a response (its `name=value`), replacing an earlier one of the name.
    mutating func keepCookies(of response: HTTPResponseHead) {
        cookieJar.keep(setCookies: response.headers.filter { $0.name.lowercased() == "set-cookie" }.map(\.value))
    }
}
