import Foundation
import MeshBenchKit
import MeshModel
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// What one load run does: where to, how many connections, open loop at a rate or closed loop.
struct LoadSpec: Sendable {
    enum Pacing: Sendable {
        /// Constant aggregate rate, latency from each request's intended send time.
        case openLoop(ratePerSecond: Double)
        /// Each connection sends its next request as soon as the previous response ended.
        case closedLoop
    }

    var host: String
    var port: Int
    var hostHeader: String
    var path = "/"
    /// TLS to the target (SNI = the Host header's name); nil: plain HTTP.
    var tls: NIOSSLContext?
    var connections: Int
    var pacing: Pacing
    var seconds: Double
}

struct LoadResult: Sendable {
    var recorder: LatencyRecorder
    var lateSends: Int
    var seconds: Double

    var requests: Int { recorder.count }
    var errors: Int { recorder.errors + recorder.non2xx }
    var requestsPerSecond: Double { Double(recorder.count) / max(seconds, 1e-9) }
}

/// HTTP/1.1 load on SwiftNIO (over TLS when the spec has a context): one event loop (like `wrk -t1` or one fortio runner), keep-alive
/// connections, one request in flight per connection. A connection that breaks counts an error
/// and is reopened.
enum LoadGenerator {
    /// The benchmark's TLS client: no certificate verification (the proxies present a throwaway
    /// certificate; verifying costs the client, not the proxy) and no session resumption (each
    /// connection makes a full handshake, once: connections are kept alive).
    static func tlsContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        return try NIOSSLContext(configuration: configuration)
    }

    static func run(_ spec: LoadSpec, group: any EventLoopGroup) async throws -> LoadResult {
        let loop = group.next()
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: spec.path)
        head.headers.add(name: "host", value: spec.hostHeader)
        head.headers.add(name: "user-agent", value: "swift-mesh-bench")
        let requestHead = head
        // Connect everything first, then start the schedule a little later on every connection.
        var connections: [LoadConnection] = []
        for index in 0..<spec.connections {
            let connection = LoadConnection(spec: spec, index: index, head: requestHead, loop: loop)
            try await connection.connect().get()
            connections.append(connection)
        }
        let start = Int64(NIODeadline.now().uptimeNanoseconds) + 20_000_000
        let end = start + Int64(spec.seconds * 1e9)
        let all = connections
        let finished = try await loop.submit {
            EventLoopFuture.whenAllSucceed(all.map { $0.begin(start: start, end: end) }, on: loop)
        }.get().get()
        var recorder = LatencyRecorder()
        var late = 0
        for result in finished {
            recorder.merge(result.recorder)
            late += result.late
        }
        return LoadResult(recorder: recorder, lateSends: late, seconds: spec.seconds)
    }
}

/// One connection of a run; all its state is touched on `loop` only.
final class LoadConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let spec: LoadSpec
    let index: Int
    let head: HTTPRequestHead
    let loop: any EventLoop
    private var channel: (any Channel)?
    private var pacer: OpenLoopPacer?
    private var end: Int64 = 0
    private var sentAt: Int64 = 0
    private var inFlight = false
    private var status: UInt = 0
    private var recorder = LatencyRecorder()
    private var done: EventLoopPromise<(recorder: LatencyRecorder, late: Int)>?
    private var finished = false
    private var connecting = false

    init(spec: LoadSpec, index: Int, head: HTTPRequestHead, loop: any EventLoop) {
        self.spec = spec
        self.index = index
        self.head = head
        self.loop = loop
    }

    static func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) }

    func connect() -> EventLoopFuture<Void> {
        let connection = self
        return ClientBootstrap(group: loop)
            .connectTimeout(.seconds(5))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { [spec] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = spec.tls {
                        let name = String(spec.hostHeader.prefix { $0 != ":" })
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: name))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .dropBytes)
                    try channel.pipeline.syncOperations.addHandler(connection)
                }
            }
            .connect(host: spec.host, port: spec.port)
            .map { channel in connection.channel = channel }
    }

    /// Starts this connection's share of the run; the future completes after `end`.
    func begin(start: Int64, end: Int64) -> EventLoopFuture<(recorder: LatencyRecorder, late: Int)> {
        loop.preconditionInEventLoop()
        let promise = loop.makePromise(of: (recorder: LatencyRecorder, late: Int).self)
        done = promise
        self.end = end
        if case .openLoop(let rate) = spec.pacing {
            pacer = OpenLoopPacer(start: start, end: end, ratePerSecond: rate, connection: index, connections: spec.connections)
        }
        loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(start))) { self.step() }
        // A response that never comes must not hang the run: 10 s after the end it counts as an error.
        loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(end + 10_000_000_000))) {
            guard !self.finished else { return }
            if self.inFlight { self.recorder.recordError() }
            self.finish()
        }
        return promise.futureResult
    }

    private func step() {
        guard !finished, !inFlight else { return }
        let now = Self.now()
        if var pacer {
            let next = pacer.next(now: now)
            self.pacer = pacer
            switch next {
            case .send: send(at: now)
            case .wait(let until): loop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(until))) { self.step() }
            case .done: finish()
            }
        } else if now < end {
            send(at: now)
        } else {
            finish()
        }
    }

    private func send(at now: Int64) {
        guard let channel, channel.isActive else {
            // Not connected: this slot is lost and counted; reopen and try the next one shortly.
            pacer?.failed(now: Self.now())
            recorder.recordError()
            reconnect()
            loop.scheduleTask(in: .milliseconds(1)) { self.step() }
            return
        }
        inFlight = true
        sentAt = now
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        channel?.close(promise: nil)
        done?.succeed((recorder, pacer?.lateSends ?? 0))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let response):
            status = response.status.code
        case .body:
            break
        case .end:
            guard inFlight else { return }
            inFlight = false
            let now = Self.now()
            if var pacer {
                let sample = pacer.completed(now: now)
                self.pacer = pacer
                recorder.record(nanoseconds: sample.corrected)
            } else {
                recorder.record(nanoseconds: now - sentAt)
            }
            if !(200..<300).contains(status) { recorder.recordNon2xx() }
            step()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        channel = nil
        guard !finished else { return }
        if inFlight {
            inFlight = false
            pacer?.failed(now: Self.now())
            recorder.recordError()
        }
        reconnect()
    }

    /// Reopens the connection (once at a time) and carries on with the schedule.
    private func reconnect() {
        guard !connecting, !finished else { return }
        connecting = true
        connect().whenComplete { _ in
            self.connecting = false
            self.step()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// `bench load`: one run of `spec`, its numbers on standard output.
func runLoad(_ spec: LoadSpec) -> Never {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let outcome = blockingRun { try await LoadGenerator.run(spec, group: group) }
    switch outcome {
    case .success(let result):
        let r = result.recorder
        print(LoadSummary(requests: result.requests, errors: result.errors, lateSends: result.lateSends, requestsPerSecond: Int(result.requestsPerSecond),
                          p50: Int(r.percentile(50)), p90: Int(r.percentile(90)), p99: Int(r.percentile(99)), p999: Int(r.percentile(99.9))).line)
        exit(0)
    case .failure(let error):
        DataPlaneLog.fail("load run failed: \(error)")
    }
}

/// Runs async work from the synchronous entry point and waits for it.
func blockingRun<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
    let box = ResultBox<T>()
    let semaphore = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await work()) } catch { box.result = .failure(error) }
        semaphore.signal()
    }
    semaphore.wait()
    return box.result!
}

final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
