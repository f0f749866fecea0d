import AsyncHTTPClient
import Logging
import NIOCore

/// Runs one `ListWatch` against the API server: lists, watches, waits, and passes every effect to
/// `sink` (on the informer's task). Problems are logged once per distinct cause; the sink keeps the
/// last good objects in force meanwhile.
public final class Informer: Sendable {
    public let type: KubeResourceType
    /// nil: every namespace (cluster-scoped kinds always).
    public let namespace: String?
    public let labelSelector: String?
    private let client: KubeClient
    private let sink: @Sendable (KubeResourceType, [ListWatch.Effect]) -> Void
    private let logger: Logger
    private let settings: Settings

    public struct Settings: Sendable {
        public var backoff: ReconnectBackoff
        public var minWatchTimeout: Duration
        public var resyncPeriod: Duration?
        public var pageSize: Int

        public init(backoff: ReconnectBackoff = ReconnectBackoff(), minWatchTimeout: Duration = .seconds(300),
                    resyncPeriod: Duration? = .seconds(1800), pageSize: Int = 500) {
            self.backoff = backoff
            self.minWatchTimeout = minWatchTimeout
            self.resyncPeriod = resyncPeriod
            self.pageSize = pageSize
        }
    }

    public init(type: KubeResourceType, namespace: String? = nil, labelSelector: String? = nil, client: KubeClient, settings: Settings = Settings(),
                logger: Logger, sink: @escaping @Sendable (KubeResourceType, [ListWatch.Effect]) -> Void) {
        self.type = type
        self.namespace = type.namespaced ? namespace : nil
        self.labelSelector = labelSelector
        self.client = client
        self.settings = settings
        self.logger = logger
        self.sink = sink
    }

    /// Lists and watches until the task is cancelled.
    public func run(using generator: some RandomNumberGenerator & Sendable) async {
        var random = generator
        var machine = ListWatch(type: type, backoff: settings.backoff, minWatchTimeout: settings.minWatchTimeout, resyncPeriod: settings.resyncPeriod)
        let clock = ContinuousClock()
        var lastList = clock.now
        while !Task.isCancelled {
            let event: ListWatch.Event?
            switch machine.step {
            case .list:
                lastList = clock.now
                do {
                    event = .listed(try await client.list(type, namespace: namespace, labelSelector: labelSelector, pageSize: settings.pageSize))
                } catch {
                    if Task.isCancelled { return }
                    event = .listFailed(error)
                }
            case .watch(let resourceVersion, let timeoutSeconds):
                let resyncAt = settings.resyncPeriod.map { lastList + $0 }
                event = await watch(from: resourceVersion, timeoutSeconds: timeoutSeconds, resyncAt: resyncAt, machine: &machine, random: &random)
            case .wait(let delay):
                do { try await Task.sleep(for: delay) } catch { return }
                event = .waited
            }
            if Task.isCancelled { return }
            if let event { deliver(machine.handle(event, using: &random)) }
        }
    }

    /// One watch request, fed line by line into the machine until it ends or the machine moves on
    /// (a 410, garbage); returns the event that ends it, nil when the machine already moved on.
    private func watch(from resourceVersion: String, timeoutSeconds: Int, resyncAt: ContinuousClock.Instant?,
                       machine: inout ListWatch, random: inout some RandomNumberGenerator) async -> ListWatch.Event? {
        var query: [(String, String)] = [("watch", "1"), ("resourceVersion", resourceVersion), ("allowWatchBookmarks", "true"),
                                         ("timeoutSeconds", String(timeoutSeconds))]
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        let path = type.collectionPath(namespace: namespace) + KubePath.query(query)
        let clock = ContinuousClock()
        var seconds = Int64(timeoutSeconds) + 30
        var resyncCut = false
        if let resyncAt {
            let left = clock.now.duration(to: resyncAt).components.seconds
            if left < seconds {
                seconds = max(1, left)
                resyncCut = true
            }
        }
        var splitter = WatchLineSplitter()
        do {
            let body = try await client.stream(path, deadline: .now() + .seconds(seconds))
            deliver(machine.handle(.watchStarted, using: &random))
            for try await chunk in body {
                for line in try splitter.feed(chunk.readableBytesView) {
                    deliver(machine.handle(.watchLine(line), using: &random))
                    guard case .watch = machine.step else { return nil }
                }
            }
        } catch let error as WatchLineSplitter.Failure {
            return .watchEnded(KubeError(.malformed, request: "GET \(path)", message: "\(error)"))
        } catch {
            if Task.isCancelled { return nil }
            if resyncCut, let resyncAt, clock.now >= resyncAt { return .resyncDue }
            var failure = KubeClient.transportError(error, request: "GET \(path)", server: client.connection.server)
            if splitter.unfinishedBytes > 0 {
                failure = KubeError(.malformed, request: failure.request, message: "the stream ended inside an event (\(splitter.unfinishedBytes) bytes): \(failure.message)")
            }
            return .watchEnded(failure)
        }
        if splitter.unfinishedBytes > 0 {
            return .watchEnded(KubeError(.malformed, request: "GET \(path)", message: "the stream ended inside an event (\(splitter.unfinishedBytes) bytes)"))
        }
        return .watchEnded(nil)
    }

    private func deliver(_ effects: [ListWatch.Effect]) {
        guard !effects.isEmpty else { return }
        for effect in effects {
            switch effect {
            case .problem(let problem, let isNew) where isNew:
                logger.warning("API server problem; retrying with backoff, the last good resources stay in force", metadata: ["problem": "\(problem)"])
            case .recovered:
                logger.notice("API server reachable again", metadata: ["resource": "\(type)"])
            case .objectProblem(let problem):
                logger.warning("object does not decode; its last good version stays in force", metadata: ["problem": "\(problem)"])
            case .synced:
                logger.info("informer synced", metadata: ["resource": "\(type)"])
            default:
                break
            }
        }
        sink(type, effects)
    }
}
