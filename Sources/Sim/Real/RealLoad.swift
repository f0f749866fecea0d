import MeshModel
import MeshProxy
import MeshRuntime
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import SimCore

/// A load worker's connection (HTTP or raw TCP) as `RealLoadRunner.measure` uses it.
protocol RealLoadConnection: Sendable {
    var isActive: Bool { get }
    /// The connection's TLS failed (https:// loads: DECISIONS 186).
    var tlsFailed: Bool { get }
    func close()
}

extension RealLoadConnection {
    var tlsFailed: Bool { false }
}

extension RealHTTPConnection: RealLoadConnection {}
extension RealTCPConnection: RealLoadConnection {}

/// One answered (or failed) request of a load, as measured on the wall clock.
struct RealSample: Sendable {
    /// 0: the connection failed, was reset or closed without an answer.
    var status: Int
    var deployment: String?
    var body: String?
    /// The values of the headers the load's `headers:` expectations name (nil: absent), in their order.
    var headerValues: [String?] = []
    var latencyNanoseconds: Int64
    /// Since the start of the run, for the per-second buckets.
    var completedAt: Int64
    /// The `x-request-id` it was sent with (HTTP loads), which the sidecars' access logs name.
    var requestID: String?
    /// An https:// request whose TLS failed (a handshake, or the server's refusal after it).
    var tlsFailed = false
    /// A grpc:// call's `grpc-status` as the answer carried it (nil: none, or no answer).
    var grpcStatusHeader: String?
}

/// What one load observed.
final class RealLoadRecorder: Sendable {
    let spec: LoadSpec
    /// The response headers `headers:` expectations ask about (lowercase).
    let headerNames: [String]
    private let samples = NIOLockedValueBox<[RealSample]>([])

    init(spec: LoadSpec, headerNames: [String] = []) {
        self.spec = spec
        self.headerNames = HeaderTally(names: headerNames).names
    }

    func record(_ sample: RealSample) { samples.withLockedValue { $0.append(sample) } }

    /// The request ids of the load's answered requests, in the order they finished.
    var finishedRequestIDs: [String] {
        samples.withLockedValue { $0.sorted { $0.completedAt < $1.completedAt }.compactMap(\.requestID) }
    }

    /// The simulator's `LoadResult` shape, from the measurements; `flags` gives a request's
    /// response flags by its request id.
    func result(flags: (String) -> ResponseFlags = { _ in [] }) -> LoadResult {
        let all = samples.withLockedValue { $0 }
        func sortedCounts<K: Comparable & Hashable>(_ keys: [K]) -> [(K, Int)] {
            Dictionary(keys.map { ($0, 1) }, uniquingKeysWith: +).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        let status = sortedCounts(all.map(\.status)).map { (code: $0.0, count: $0.1) }
        let backends = sortedCounts(all.compactMap(\.deployment)).map { (deployment: $0.0, count: $0.1) }
        let bodies = sortedCounts(all.compactMap(\.body)).map { (text: $0.0, count: $0.1) }
        let latencies = all.map(\.latencyNanoseconds).sorted()
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            let rank = Int((p * Double(latencies.count)).rounded(.up)) - 1
            return Double(latencies[min(max(rank, 0), latencies.count - 1)]) / 1_000_000
        }
        let latency = LatencySummary(p50: percentile(0.5), p90: percentile(0.9), p99: percentile(0.99), p999: percentile(0.999),
                                     max: Double(latencies.last ?? 0) / 1_000_000)
        var buckets: [Int64: (status: [Int], backends: [String])] = [:]
        for sample in all {
            let second = sample.completedAt / 1_000_000_000
            buckets[second, default: ([], [])].status.append(sample.status)
            if let deployment = sample.deployment { buckets[second, default: ([], [])].backends.append(deployment) }
        }
        let loadBuckets = buckets.sorted { $0.key < $1.key }.map { entry in
            LoadBucket(start: .seconds(entry.key),
                       status: sortedCounts(entry.value.status).map { (code: $0.0, count: $0.1) },
                       backends: sortedCounts(entry.value.backends).map { (deployment: $0.0, count: $0.1) })
        }
        let flagged = all.compactMap { $0.requestID.map(flags) }.filter { !$0.isEmpty }.map(\.description)
        let responseFlags = sortedCounts(flagged).map { (flags: $0.0, count: $0.1) }
        var headers = HeaderTally(names: headerNames)
        for sample in all where sample.status != 0 && !headers.isEmpty {
            headers.record { name in headerNames.firstIndex(of: name).flatMap { sample.headerValues[$0] } }
        }
        var result = LoadResult(name: spec.name, requests: all.count, status: status, backends: backends, latency: latency,
                                buckets: loadBuckets, bucketWidth: .seconds(1), bodies: bodies, responseFlags: responseFlags, headers: headers.observations)
        // As the simulator reports them: gRPC statuses for grpc:// loads, TLS failures for https:// ones.
        let scheme = (try? LoadURL(parsing: spec.url))?.scheme
        if scheme == .grpc {
            result.grpcStatus = sortedCounts(all.map { GRPCStatus.of(status: $0.status, grpcStatus: $0.grpcStatusHeader) }).map { (code: $0.0, count: $0.1) }
        }
        if scheme == .https { result.tlsFailures = all.filter(\.tlsFailed).count }
        return result
    }
}

/// Runs one load like the simulator's fortio-like generator (LoadGenerator): `requests` split over
/// `concurrency` workers (the remainder to the last ones); open loop at `qps` (each worker every
/// `c / qps`, worker w offset by `w / qps`, latency from the scheduled time) or closed loop; 5 s
/// when neither `requests` nor `duration` bounds it. Requests go to the client pod's sidecar
/// outbound listener as plain HTTP with `Host` naming the service (local mode); each worker keeps
/// its connection and opens a new one after a failure.
struct RealLoadRunner: Sendable {
    static let defaultDuration: Int64 = 5_000_000_000
    /// Workers of one load in a real run: each is a real connection (and task) on this machine.
    static let maxConcurrency = 1000

    let spec: LoadSpec
    let url: LoadURL
    let clientIP: String
    /// A client without a sidecar: where kube-proxy sends its connections (nil: through its sidecar).
    var kubeProxy: RealKubeProxy? = nil
    /// A `tcp://` load to a server-first port: each connection reads the app's greeting first.
    var serverFirst = false
    let recorder: RealLoadRecorder
    /// Who echoed each TCP call (the backend of a `tcp://` load).
    let tcpCalls: RealTCPCallLedger
    /// Wall-clock origin of the run.
    let origin: ContinuousClock.Instant
    /// No request starts after this (the scenario's `duration`), nil: unbounded.
    let runDeadline: ContinuousClock.Instant?
    /// `cookies: true`: the load's jar, shared by its workers as the simulator's load shares one.
    let cookies: NIOLockedValueBox<CookieJar>?
    /// An https:// load's TLS (nil: plain HTTP).
    var tls: RealTLSClient? = nil

    func run() async {
        let concurrency = min(max(1, spec.concurrency), Self.maxConcurrency)
        var quotas = Array(repeating: Int.max, count: concurrency)
        if let total = spec.requests {
            let base = max(0, total) / concurrency, remainder = max(0, total) % concurrency
            for worker in 0..<concurrency { quotas[worker] = base + (worker >= concurrency - remainder ? 1 : 0) }
        }
        let start = ContinuousClock.now
        var bound: ContinuousClock.Instant? = runDeadline
        let ownLength: Int64? = spec.duration.map { max(0, $0.nanoseconds) } ?? (spec.requests == nil ? RealLoadRunner.defaultDuration : nil)
        if let ownLength {
            let own = start + Duration.nanoseconds(ownLength)
            bound = bound.map { min($0, own) } ?? own
        }
        let deadline = bound
        let interval: Duration? = spec.qps.flatMap { $0 > 0 ? .nanoseconds(Int64((Double(concurrency) / $0 * 1e9).rounded())) : nil }
        let request = requestHead()
        let startOrder = interval == nil && url.isTCP ? RealWorkerStartOrder(workers: concurrency) : nil
        for worker in 0..<concurrency where quotas[worker] == 0 { startOrder?.firstCallFinished(by: worker) }
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency where quotas[worker] > 0 {
                let quota = quotas[worker]
                let firstOffset: Duration = interval == nil ? .zero : .nanoseconds(Int64((Double(worker) / spec.qps! * 1e9).rounded()))
                group.addTask { [self] in
                    var scheduled = start + firstOffset
                    var issued = 0
                    var connection: RealHTTPConnection?
                    var tcpConnection: RealTCPConnection?
                    var udpSocket: RealUDPSocket?
                    var grpcConnection: RealGRPCConnection?
                    await startOrder?.awaitTurn(of: worker)
                    defer { startOrder?.firstCallFinished(by: worker) }
                    while issued < quota {
                        if let deadline, (interval != nil ? scheduled : ContinuousClock.now) >= deadline { break }
                        if interval != nil, scheduled > .now { try? await Task.sleep(until: scheduled, clock: .continuous) }
                        let measuredFrom = interval != nil ? scheduled : ContinuousClock.now
                        issued += 1
                        if url.isTCP {
                            tcpConnection = await self.tcpCall(on: tcpConnection, measuredFrom: measuredFrom)
                        } else if url.scheme == .udp {
                            udpSocket = await self.udpCall(on: udpSocket, measuredFrom: measuredFrom)
                        } else if url.scheme == .grpc {
                            grpcConnection = await self.grpcCall(request, id: "\(spec.name)/\(worker)/\(issued)", on: grpcConnection, measuredFrom: measuredFrom)
                        } else {
                            connection = await self.call(request, id: "\(spec.name)/\(worker)/\(issued)", on: connection, measuredFrom: measuredFrom)
                        }
                        if let interval { scheduled += interval }
                        startOrder?.firstCallFinished(by: worker)
                    }
                    connection?.close()
                    tcpConnection?.close()
                    udpSocket?.close()
                    grpcConnection?.close()
                }
            }
        }
    }

    /// One request on the worker's connection (a new one when it has none); returns the connection
    /// to reuse, nil after a failure or when the sidecar closes it.
    private func call(_ head: NIOHTTP1.HTTPRequestHead, id: String, on existing: RealHTTPConnection?, measuredFrom: ContinuousClock.Instant) async -> RealHTTPConnection? {
        var head = head
        head.headers.replaceOrAdd(name: "x-request-id", value: id)
        let request = head
        // https:// from a meshed pod: curl with its sidecar as HTTP proxy (a CONNECT carrying the
        // request's id, then TLS through the tunnel), a new connection per request as each curl makes.
        let tunnelled = kubeProxy == nil && tls != nil
        return await measure(on: existing, measuredFrom: measuredFrom, requestID: tunnelled ? id : nil) {
            guard let kubeProxy else {
                return try await RealHTTPConnection.connect(host: clientIP, port: RealModeRunner.outboundPort, tls: tls,
                                                            tunnel: tunnelled ? ("\(url.host):\(url.port)", id) : nil, group: MultiThreadedEventLoopGroup.singleton)
            }
            guard let target = kubeProxy.next() else { throw RealKubeProxy.NoEndpoints() }
            return try await RealHTTPConnection.connect(host: target.host, port: target.port, bindTo: clientIP, targetPort: target.targetPort,
                                                        tls: tls, group: MultiThreadedEventLoopGroup.singleton)
        } exchange: { connection, sample in
            sample.requestID = id
            var request = request
            if let port = connection.targetPort { request.headers.replaceOrAdd(name: InboundTarget.portHeader, value: String(port)) }
            if let cookie = cookies?.withLockedValue(\.header) { request.headers.add(name: "cookie", value: cookie) }
            let response = try await connection.request(request, bodyBytes: spec.bodyBytes, timeout: .seconds(30))
            cookies?.withLockedValue { $0.keep(setCookies: response.headers["set-cookie"]) }
            sample.status = response.status
            sample.headerValues = recorder.headerNames.map { response.headers.first(name: $0) }
            sample.deployment = response.headers.first(name: RealAppHeaders.deployment)
            if response.headers.contains(name: RealAppHeaders.appBody) {
                let text = AppModelInstance.reportText(response.body)
                if !text.isEmpty { sample.body = text }
            }
            return !tunnelled && !response.headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" })
        }
    }

    /// One raw TCP call as fortio's tcp runner makes it: 24 bytes out, the echo back (status 200),
    /// or a refused, reset or short-read connection (status 0). The worker keeps its connection and
    /// opens a new one after a failure. Locally a tunnel starts with `CONNECT` on the outbound listener.
    private func tcpCall(on existing: RealTCPConnection?, measuredFrom: ContinuousClock.Instant) async -> RealTCPConnection? {
        await measure(on: existing, measuredFrom: measuredFrom) {
            guard let kubeProxy else {
                return try await RealTCPConnection.connect(host: clientIP, port: RealModeRunner.outboundPort, tunnelTo: url.authority, serverFirst: serverFirst)
            }
            guard let target = kubeProxy.next() else { throw RealKubeProxy.NoEndpoints() }
            return try await RealTCPConnection.connect(host: target.host, port: target.port, bindTo: clientIP, serverFirst: serverFirst)
        } exchange: { connection, sample in
            let payload = tcpCalls.nextPayload()
            try await connection.echo(payload, timeout: .seconds(10))
            sample.status = 200
            sample.deployment = tcpCalls.server(of: payload)
            return true
        }
    }

    /// One datagram to the worker's endpoint and its echo back (status 200), or silence (status 0).
    /// Datagrams pass by the sidecars: the endpoint is the pod's own port, even a meshed pod's.
    private func udpCall(on existing: RealUDPSocket?, measuredFrom: ContinuousClock.Instant) async -> RealUDPSocket? {
        await measure(on: existing, measuredFrom: measuredFrom) {
            guard let target = kubeProxy?.next() else { throw RealKubeProxy.NoEndpoints() }
            return try await RealUDPSocket.open(from: clientIP, to: target.host, port: target.targetPort ?? target.port)
        } exchange: { socket, sample in
            let payload = tcpCalls.nextPayload()
            try await socket.echo(payload)
            sample.status = 200
            sample.deployment = tcpCalls.server(of: payload)
            return true
        }
    }

    /// Runs one call on `existing` (or a new connection when it has none or it closed) and records
    /// its sample: `exchange` fills it in and says whether the connection stays; a thrown error is a
    /// failed call (status 0) and closes it. Returns the connection to reuse. `requestID`: the
    /// call's id before it connects (a CONNECT carries it, so a refused one's flags are found).
    func measure<Connection: RealLoadConnection>(
        on existing: Connection?, measuredFrom: ContinuousClock.Instant, requestID: String? = nil,
        connect: () async throws -> Connection, exchange: (Connection, inout RealSample) async throws -> Bool
    ) async -> Connection? {
        var sample = RealSample(status: 0, latencyNanoseconds: 0, completedAt: 0, requestID: requestID)
        var keep: Connection?
        var failedConnection: Connection?
        do {
            let connection: Connection
            if let existing, existing.isActive {
                connection = existing
            } else {
                existing?.close()
                connection = try await connect()
            }
            keep = connection
            failedConnection = connection
            if try await !exchange(connection, &sample) {
                connection.close()
                keep = nil
            }
        } catch {
            sample.status = 0
            keep?.close()
            keep = nil
            sample.tlsFailed = failedConnection?.tlsFailed == true
        }
        let now = ContinuousClock.now
        sample.latencyNanoseconds = RealLoadRunner.nanoseconds(now - measuredFrom)
        sample.completedAt = RealLoadRunner.nanoseconds(now - origin)
        recorder.record(sample)
        return keep
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let parts = duration.components
        return parts.seconds * 1_000_000_000 + parts.attoseconds / 1_000_000_000
    }
}

/// kube-proxy and the server pod's capture for a real-mode client without a sidecar: each new
/// connection goes to the next endpoint of the service (round robin); a meshed endpoint is its
/// sidecar's inbound listener, told the pod port in `InboundTarget.portHeader` (what iptables'
/// original destination says in a cluster), an unmeshed one its app's port.
final class RealKubeProxy: Sendable {
    struct Target: Sendable {
        var host: String
        var port: Int
        /// Set when `port` is a sidecar's inbound listener.
        var targetPort: Int?
    }

    struct NoEndpoints: Error {}

    private let targets: [Target]
    private let cursor = NIOLockedValueBox(0)

    init(targets: [Target]) { self.targets = targets }

    func next() -> Target? {
        guard !targets.isEmpty else { return nil }
        return cursor.withLockedValue { index in
            defer { index += 1 }
            return targets[index % targets.count]
        }
    }
}
