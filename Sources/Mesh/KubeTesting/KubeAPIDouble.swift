import Logging
import MeshKube
import MeshModel
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// An API-server double for tests and benchmarks: a NIO HTTP/1.1 server (TLS optional, bearer
/// token or client certificate) that speaks the real list/watch protocol over a `KubeStore` —
/// paginated lists with resourceVersions, chunked watch streams with `ADDED`/`MODIFIED`/`DELETED`,
/// bookmarks, `ERROR` 410 after compaction, timeouts — and the write verbs (create, replace,
/// server-side apply, merge and JSON patch, delete) with optimistic concurrency. Faults are
/// scripted (`inject`), and every request is recorded (`requests()`).
///
/// Everything runs on one event loop; the public methods hop onto it.
public final class KubeAPIDouble: @unchecked Sendable {
    public struct Settings: Sendable {
        public var host: String
        public var port: Int
        /// Serve HTTPS with this context (nil: plain HTTP).
        public var tls: NIOSSLContext?
        /// Bearer tokens accepted (empty: any request is accepted, including none).
        public var tokens: Set<String>
        /// How often a watch with `allowWatchBookmarks=true` gets a bookmark.
        public var bookmarkInterval: TimeAmount
        /// The cluster's controllers after each write (CRDs established, Deployments rolled out,
        /// namespaces emptied on delete); nil: none, objects stay as written.
        public var controllers: KubeAPIControllers?

        public init(host: String = "127.0.0.1", port: Int = 0, tls: NIOSSLContext? = nil, tokens: Set<String> = [], bookmarkInterval: TimeAmount = .seconds(60),
                    controllers: KubeAPIControllers? = nil) {
            self.host = host
            self.port = port
            self.tls = tls
            self.tokens = tokens
            self.bookmarkInterval = bookmarkInterval
            self.controllers = controllers
        }
    }

    public let settings: Settings
    let group: MultiThreadedEventLoopGroup
    let loop: any EventLoop
    private var channel: (any Channel)?
    // Loop-confined.
    var store = KubeStore()
    var tokens: Set<String>
    var controllers: KubeAPIControllers?
    var faults: [KubeAPIFaultRule] = []
    var recorded: [KubeAPIRequest] = []
    var watchers: [ObjectIdentifier: KubeWatchStream] = [:]
    let types: [String: KubeResourceType]

    private init(settings: Settings, types: [KubeResourceType]) {
        self.settings = settings
        self.tokens = settings.tokens
        self.controllers = settings.controllers
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        var byPath: [String: KubeResourceType] = [:]
        for type in types { byPath["\(type.apiVersion)/\(type.plural)"] = type }
        self.types = byPath
    }

    /// The kinds the double serves unless told otherwise: the mesh's, the gateway's and the
    /// ingress's, Secrets, ConfigMaps, Leases and webhook configurations.
    public static let defaultTypes: [KubeResourceType] = KubeResourceType.meshKinds + KubeResourceType.gatewayKinds + KubeResourceType.ingressKinds + [
        .secrets, .configMaps, .leases, .mutatingWebhookConfigurations, .validatingWebhookConfigurations,
        .customResourceDefinitions, .clusterRoles, .clusterRoleBindings, .roles, .roleBindings, .ingressClasses,
    ]

    public static func start(_ settings: Settings = Settings(), types: [KubeResourceType] = defaultTypes) async throws -> KubeAPIDouble {
        let double = KubeAPIDouble(settings: settings, types: types)
        do {
            double.channel = try await ServerBootstrap(group: double.group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls = settings.tls {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                        }
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(KubeAPIHandler(double: double))
                    }
                }
                .bind(host: settings.host, port: settings.port)
                .get()
        } catch {
            try? await double.group.shutdownGracefully()
            throw error
        }
        return double
    }

    /// `http://127.0.0.1:port` (or https).
    public var url: String {
        let port = channel?.localAddress?.port ?? settings.port
        return "\(settings.tls == nil ? "http" : "https")://\(settings.host):\(port)"
    }

    public func shutdown() async {
        try? await loop.submit {
            for watcher in self.watchers.values { watcher.close() }
            self.watchers.removeAll()
        }.get()
        try? await channel?.close()
        try? await group.shutdownGracefully()
    }

    // MARK: Changing the cluster

    /// Creates or replaces objects (each an event to the watches).
    public func put(_ type: KubeResourceType, _ objects: [JSONValue]) async {
        try? await loop.submit {
            for object in objects { self.store.put(type, object) }
            self.publish()
        }.get()
    }

    /// Deletes an object; false when it did not exist.
    @discardableResult
    public func remove(_ type: KubeResourceType, namespace: String = "", name: String) async -> Bool {
        (try? await loop.submit { () -> Bool in
            defer { self.publish() }
            return (try? self.store.delete(type, KubeObjectKey(namespace: type.namespaced ? namespace : "", name: name))) != nil
        }.get()) ?? false
    }

    /// The stored object, nil when absent.
    public func object(_ type: KubeResourceType, namespace: String = "", name: String) async -> JSONValue? {
        try? await loop.submit { self.store.object(type, KubeObjectKey(namespace: type.namespaced ? namespace : "", name: name)) }.get()
    }

    /// Forgets the event log: a watch from an older resourceVersion gets `ERROR` 410.
    public func compact() async {
        try? await loop.submit { self.store.compact() }.get()
    }

    /// The current resourceVersion of the store.
    public func revision() async -> Int {
        (try? await loop.submit { self.store.revision }.get()) ?? 0
    }

    /// Turns the cluster's controllers on (or off, with nil) from the next write on.
    public func runControllers(_ controllers: KubeAPIControllers?) async {
        try? await loop.submit { self.controllers = controllers }.get()
    }

    /// Replaces the accepted bearer tokens (a rotated service-account token).
    public func acceptTokens(_ tokens: Set<String>) async {
        try? await loop.submit { self.tokens = tokens }.get()
    }

    // MARK: Faults and records

    /// The next `times` requests with one of `verbs` (and of `type`, when given) get `fault`.
    public func inject(_ fault: KubeAPIFault, on verbs: Set<KubeAPIVerb>, type: KubeResourceType? = nil, times: Int = 1) async {
        try? await loop.submit { self.faults.append(KubeAPIFaultRule(fault: fault, verbs: verbs, type: type, times: times)) }.get()
    }

    /// Ends every open watch stream abruptly (a dropped connection, as a restarting API server does).
    public func dropWatches() async {
        try? await loop.submit {
            for watcher in self.watchers.values { watcher.drop() }
            self.watchers.removeAll()
        }.get()
    }

    /// Watches open now.
    public func openWatches(_ type: KubeResourceType? = nil) async -> Int {
        (try? await loop.submit { self.watchers.values.filter { type == nil || $0.type == type }.count }.get()) ?? 0
    }

    /// Every request served so far, in order.
    public func requests() async -> [KubeAPIRequest] {
        (try? await loop.submit { self.recorded }.get()) ?? []
    }

    /// The writes served so far (create, update, patch, delete), in order.
    public func writes() async -> [KubeAPIRequest] {
        await requests().filter(\.isWrite)
    }

    // MARK: Loop-confined

    /// Sends the events since the last publish to the matching watches.
    func publish() {
        loop.preconditionInEventLoop()
        for watcher in watchers.values { watcher.catchUp(store) }
    }

    func takeFault(verb: KubeAPIVerb, type: KubeResourceType?) -> KubeAPIFault? {
        guard let index = faults.firstIndex(where: { $0.verbs.contains(verb) && ($0.type == nil || $0.type == type) && $0.times > 0 }) else { return nil }
        faults[index].times -= 1
        let fault = faults[index].fault
        if faults[index].times == 0 { faults.remove(at: index) }
        return fault
    }
}
