import AsyncHTTPClient
import Logging
import MeshRuntime
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The guides' demo apps, run as real processes next to their sidecars (`fsm demo-app NAME`).
public enum DemoAppKind: String, CaseIterable, Sendable {
    case bookbuyer, bookthief, bookstore, bookwarehouse, httpbin

    /// The port the app's server listens on when the pod declares none (the demos' 14001; httpbin's 14001 too).
    public static let defaultPort = 14001

    /// Whether the app calls other services (and so needs its sidecar's outbound listener).
    public var needsProxy: Bool { self == .bookbuyer || self == .bookthief || self == .bookstore }
}

/// Where an app listens and whom it calls.
public struct DemoAppSettings: Sendable {
    public var kind: DemoAppKind
    public var listenHost: String
    public var listenPort: Int
    /// The own sidecar's outbound listener (podIP:15001) that requests go to, naming the service in
    /// `Host` (local mode); nil: the app connects to the service itself (`bookstore.bookstore:14001`,
    /// resolved by the system resolver), as an app in a pod whose traffic is captured does.
    public var proxy: (host: String, port: Int)?
    /// bookstore's `IDENTITY` (e.g. bookstore-v1); httpbin's and bookwarehouse's Identity header.
    public var identity: String
    /// `Host` of the bookstore service (bookbuyer, bookthief).
    public var bookstoreHost: String
    /// `Host` of the bookwarehouse service (bookstore's restock).
    public var bookwarehouseHost: String
    /// Shortest time of one client-loop iteration (the demo's CI_SLEEP_BETWEEN_REQUESTS_SECONDS).
    public var interval: TimeAmount
    /// Random sell time of bookstore, in milliseconds (the demo: 150–749).
    public var sellDelay: Range<Int>

    public init(kind: DemoAppKind, listenHost: String, listenPort: Int = DemoAppKind.defaultPort, proxy: (host: String, port: Int)? = ("127.0.0.1", 15001),
                identity: String? = nil, bookstoreHost: String = "bookstore.bookstore:14001", bookwarehouseHost: String = "bookwarehouse.bookwarehouse:14001",
                interval: TimeAmount = .seconds(1), sellDelay: Range<Int> = 150..<750) {
        self.kind = kind
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.proxy = proxy
        self.identity = identity ?? kind.rawValue
        self.bookstoreHost = bookstoreHost
        self.bookwarehouseHost = bookwarehouseHost
        self.interval = interval
        self.sellDelay = sellDelay
    }
}

extension DemoAppSettings {
    /// Where a request for the service named `hostHeader` (`name.namespace:port`) is sent: the
    /// sidecar's outbound listener in local mode, else the service itself (port 80 when none is named).
    func destination(_ hostHeader: String) -> (host: String, port: Int) {
        if let proxy { return proxy }
        guard let colon = hostHeader.lastIndex(of: ":"), let port = Int(hostHeader[hostHeader.index(after: colon)...]) else { return (hostHeader, 80) }
        return (String(hostHeader[..<colon]), port)
    }
}

/// One running demo app: its HTTP server and, for bookbuyer/bookthief, its client loop.
public final class DemoApp: Sendable {
    public let settings: DemoAppSettings
    private let server: DemoHTTPServer
    private let loop: Task<Void, Never>?
    private let group: MultiThreadedEventLoopGroup
    private let counters: NIOLockedValueBox<BookClientCounters>?

    /// The app's client (its calls through the sidecar), on its own loop; shut down before the loop.
    private let http: HTTPClient

    private init(settings: DemoAppSettings, server: DemoHTTPServer, loop: Task<Void, Never>?, group: MultiThreadedEventLoopGroup,
                 http: HTTPClient, counters: NIOLockedValueBox<BookClientCounters>?) {
        self.settings = settings
        self.server = server
        self.loop = loop
        self.group = group
        self.http = http
        self.counters = counters
    }

    /// The address the app's server bound.
    public var localAddress: NIOCore.SocketAddress? { server.localAddress }

    /// The client counters (bookbuyer, bookthief).
    public var clientCounters: BookClientCounters? { counters?.withLockedValue { $0 } }

    public static func start(_ settings: DemoAppSettings, logger: Logger = Logger(label: "fsm.demo-app")) async throws -> DemoApp {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let http = MeshHTTP.makeClient(eventLoopGroup: group)
        let logger = { var tagged = logger; tagged[metadataKey: "app"] = "\(settings.kind.rawValue)"; return tagged }()
        do {
            switch settings.kind {
            case .bookbuyer, .bookthief:
                let counters = NIOLockedValueBox(BookClientCounters(role: settings.kind == .bookbuyer ? .buyer : .thief))
                let server = try await DemoHTTPServer.start(host: settings.listenHost, port: settings.listenPort, group: group) { request in
                    counters.withLockedValue { $0.handle(request) }
                }
                let loop = Task { await runClientLoop(settings, counters: counters, http: http, logger: logger) }
                logger.info("demo app started", metadata: ["listen": "\(server.localAddress.map { "\($0)" } ?? "?")", "bookstore": "\(settings.bookstoreHost)"])
                return DemoApp(settings: settings, server: server, loop: loop, group: group, http: http, counters: counters)
            case .bookstore:
                let state = NIOLockedValueBox(BookstoreState(identity: settings.identity))
                let server = try await DemoHTTPServer.start(host: settings.listenHost, port: settings.listenPort, group: group) { request in
                    let delay = settings.sellDelay.isEmpty ? 0 : Int.random(in: settings.sellDelay)
                    let reply = state.withLockedValue { $0.handle(request, sellDelayMilliseconds: delay) }
                    if reply.restock {
                        logger.info("selling a book", metadata: ["books_sold": "\(reply.response.header("Booksbought") ?? "?")"])
                        let trace = BookstoreState.traceHeaders(of: request)
                        Task { await restock(settings, trace: trace, http: http, logger: logger) }
                    }
                    return reply.response
                }
                logger.info("demo app started", metadata: ["listen": "\(server.localAddress.map { "\($0)" } ?? "?")", "identity": "\(settings.identity)"])
                return DemoApp(settings: settings, server: server, loop: nil, group: group, http: http, counters: nil)
            case .bookwarehouse:
                let state = NIOLockedValueBox(BookwarehouseState(identity: settings.identity))
                let server = try await DemoHTTPServer.start(host: settings.listenHost, port: settings.listenPort, group: group) { request in
                    let response = state.withLockedValue { $0.handle(request) }
                    if response.status == 200, request.method == "POST" {
                        logger.info("restocking bookstore", metadata: ["total": "\(state.withLockedValue { $0.totalRestocked })"])
                    }
                    return response
                }
                logger.info("demo app started", metadata: ["listen": "\(server.localAddress.map { "\($0)" } ?? "?")"])
                return DemoApp(settings: settings, server: server, loop: nil, group: group, http: http, counters: nil)
            case .httpbin:
                let state = NIOLockedValueBox(HttpbinState(identity: settings.identity))
                let server = try await DemoHTTPServer.start(host: settings.listenHost, port: settings.listenPort, group: group) { request in
                    state.withLockedValue { $0.handle(request) }
                }
                logger.info("demo app started", metadata: ["listen": "\(server.localAddress.map { "\($0)" } ?? "?")"])
                return DemoApp(settings: settings, server: server, loop: nil, group: group, http: http, counters: nil)
            }
        } catch {
            try? await http.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    public func shutdown() async {
        loop?.cancel()
        await loop?.value
        await server.close()
        try? await http.shutdown()
        try? await group.shutdownGracefully()
    }

    /// bookbuyer / bookthief: each iteration GETs `/books-bought` and `/buy-a-book/new` (random order)
    /// through the sidecar, then waits out the rest of the interval.
    static func runClientLoop(_ settings: DemoAppSettings, counters: NIOLockedValueBox<BookClientCounters>, http: HTTPClient, logger: Logger) async {
        var iteration = 0
        while !Task.isCancelled {
            iteration += 1
            let started = ContinuousClock.now
            for path in [BookClientCounters.booksBoughtPath, BookClientCounters.buyPath].shuffled() {
                if Task.isCancelled { return }
                let headers = [("host", settings.bookstoreHost)] + BookClientCounters.headers(for: path)
                var status = 0
                var identity: String?
                do {
                    let (host, port) = settings.destination(settings.bookstoreHost)
                    let response = try await MeshHTTP.request(host: host, port: port, path: path, headers: headers, timeout: .seconds(10), client: http)
                    status = response.status
                    identity = response.header("Identity")
                } catch {
                    logger.debug("fetch failed", metadata: ["path": "\(path)", "error": "\(error)"])
                }
                counters.withLockedValue { $0.record(path: path, status: status, identity: identity) }
                logger.info("fetched", metadata: ["iteration": "\(iteration)", "path": "\(path)", "status": "\(status)", "identity": "\(identity ?? "n/a")"])
            }
            let wait = Duration.nanoseconds(settings.interval.nanoseconds) - (ContinuousClock.now - started)
            if wait > .zero { try? await Task.sleep(for: wait) }
        }
    }

    /// bookstore: `POST /restock-books` to bookwarehouse with body `1`, in the sale's trace; the
    /// result is only logged.
    static func restock(_ settings: DemoAppSettings, trace: [(String, String)], http: HTTPClient, logger: Logger) async {
        do {
            let (host, port) = settings.destination(settings.bookwarehouseHost)
            let response = try await MeshHTTP.request(
                host: host, port: port, method: .POST, path: "/restock-books",
                headers: [("host", settings.bookwarehouseHost), ("content-type", "application/json")] + trace, body: "1", timeout: .seconds(10), client: http)
            logger.info("restock finished", metadata: ["status": "\(response.status)"])
        } catch {
            logger.info("restock finished", metadata: ["status": "0", "error": "\(error)"])
        }
    }
}
