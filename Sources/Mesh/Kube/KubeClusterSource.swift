import Logging
import MeshControl
import MeshControlPlane
import MeshModel
import NIOConcurrencyHelpers

/// The cluster as the API server tells it: one `Informer` per kind MeshModel decodes, their
/// changes buffered (the last change of each object wins) until the controller polls. The
/// Namespace informer watches only namespaces labelled `flomesh.io/monitored-by=<mesh>`; the other
/// kinds are watched cluster-wide (as FSM's informers are) and passed on only for monitored
/// namespaces, so a namespace that joins brings its objects at once and one that leaves takes them
/// away. MeshConfig comes from the mesh's own namespace. With the gateway or the ingress enabled,
/// their kinds (Gateway API objects, FSM Gateway policies, Ingresses) pass on from every namespace
/// (FSM's gateway serves Gateways wherever they are, monitored or not), and a Secret passes on only
/// while its namespace holds one of them: a Gateway's certificates and a policy's CA must be in the
/// Gateway's or policy's own namespace (no ReferenceGrant), so no other Secret can be read. For the
/// same reason a route's backends are in its own namespace: while a namespace holds one of those
/// objects, its Services, Endpoints and Pods pass on too, monitored or not (F2-010's `httpbin`
/// is not in the mesh; the model keeps such pods out of the mesh). Pods keep the addresses the API
/// gives them (nothing is stamped out or addressed here).
///
/// Each buffered change wakes the controller (`onChanges`), so an event reaches the configs
/// without waiting for a poll tick.
public final class KubeClusterSource: ClusterSource, Sendable {
    public let meshName: String
    public let controlPlaneNamespace: String
    /// The kinds the informers watch (`KubeResourceType.watched`).
    public let kinds: [KubeResourceType]
    private let state = NIOLockedValueBox(State())
    private let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])

    public init(meshName: String = "fsm", controlPlaneNamespace: String = "fsm-system", gateway: Bool = false, ingress: Bool = false) {
        self.meshName = meshName
        self.controlPlaneNamespace = controlPlaneNamespace
        self.kinds = KubeResourceType.watched(gateway: gateway, ingress: ingress)
        let hidden = [ControllerSecrets.caSecretName, ControllerSecrets.credentialSecretName].map {
            ResourceKey(kind: .secret, namespace: controlPlaneNamespace, name: $0)
        }
        state.withLockedValue { $0.hiddenSecrets = Set(hidden) }
    }

    /// `flomesh.io/monitored-by=<mesh>`.
    public var namespaceSelector: String { "\(ClusterConventions.monitoredLabel)=\(meshName)" }

    /// The informers this source runs: every mesh kind, scoped as described above.
    public func informers(client: KubeClient, settings: Informer.Settings = Informer.Settings(), logger: Logger) -> [Informer] {
        kinds.map { type in
            let namespace: String? = type == .meshConfigs ? controlPlaneNamespace : nil
            let selector: String? = type == .namespaces ? namespaceSelector : nil
            return Informer(type: type, namespace: namespace, labelSelector: selector, client: client, settings: settings, logger: logger) { [self] type, effects in
                self.receive(type, effects)
            }
        }
    }

    /// Starts the informers; `stop()` ends them.
    public func start(client: KubeClient, settings: Informer.Settings = Informer.Settings(), logger: Logger,
                      random: @escaping @Sendable () -> some RandomNumberGenerator & Sendable = { SystemRandomNumberGenerator() }) {
        let started = informers(client: client, settings: settings, logger: logger).map { informer in
            Task { await informer.run(using: random()) }
        }
        state.withLockedValue { $0.expected = Set(kinds) }
        tasks.withLockedValue { $0 += started }
    }

    /// Cancels the informers and waits until they ended.
    public func stop() async {
        let running = tasks.withLockedValue { tasks in
            defer { tasks.removeAll() }
            return tasks
        }
        for task in running { task.cancel() }
        for task in running { await task.value }
    }

    // MARK: ClusterSource

    public func poll() -> ClusterSourcePoll {
        state.withLockedValue { state in
            defer {
                state.pending.removeAll(keepingCapacity: true)
                state.newProblems.removeAll()
            }
            var deletes: [ResourceKey] = []
            var upserts: [Resource] = []
            for (key, change) in state.pending {
                switch change {
                case .upsert(let resource): upserts.append(resource)
                case .delete: deletes.append(key)
                }
            }
            return ClusterSourcePoll(changes: LocalCluster.ordered(deletes: deletes, upserts: upserts), newProblems: state.newProblems)
        }
    }

    public var problems: [String] {
        state.withLockedValue { state in
            state.connectionProblems.keys.sorted { $0.description < $1.description }.compactMap { state.connectionProblems[$0] }
                + state.objectProblems.keys.sorted().compactMap { state.objectProblems[$0] }
        }
    }

    public var failedReads: Int { state.withLockedValue { $0.failures } }

    /// Every informer has listed once.
    public var isSynced: Bool { state.withLockedValue { !$0.expected.isEmpty && $0.expected.isSubset(of: $0.synced) } }

    public func onChanges(_ notify: @escaping @Sendable () -> Void) {
        state.withLockedValue { $0.notify = notify }
    }

    // MARK: Informer effects

    /// Takes an informer's effects (on the informer's task) and wakes the controller when changes wait.
    func receive(_ type: KubeResourceType, _ effects: [ListWatch.Effect]) {
        let notify = state.withLockedValue { state -> (@Sendable () -> Void)? in
            var changed = false
            for effect in effects {
                switch effect {
                case .changes(let changes):
                    for change in changes { state.apply(change, type: type) }
                    changed = true
                case .synced:
                    state.synced.insert(type)
                case .problem(let problem, let isNew):
                    state.failures += 1
                    state.connectionProblems[type] = problem
                    if isNew { state.newProblems.append(problem) }
                case .recovered, .problemCleared:
                    state.connectionProblems[type] = nil
                case .objectProblem(let problem):
                    state.failures += 1
                    state.objectProblems[problem.object] = problem.description
                    state.newProblems.append(problem.description)
                case .objectProblemCleared(let key):
                    state.objectProblems["\(type.kind) \(key)"] = nil
                }
            }
            return changed && !state.pending.isEmpty ? state.notify : nil
        }
        notify?()
    }

    struct State {
        var monitored = Set<String>()
        /// Every object of every informer (all namespaces), to pass on when its namespace joins.
        var objects: [ResourceKey: Resource] = [:]
        var objectsByNamespace: [String: Set<ResourceKey>] = [:]
        /// The gateway and ingress objects of each namespace: while there are any, its Secrets pass on.
        var edgeByNamespace: [String: Set<ResourceKey>] = [:]
        var secretsByNamespace: [String: Set<ResourceKey>] = [:]
        /// The controller's own Secrets (the mesh CA's key, the credential key): never passed on,
        /// whatever a Gateway in the mesh namespace names.
        var hiddenSecrets: Set<ResourceKey> = []
        var pending: [ResourceKey: ResourceChange] = [:]
        var connectionProblems: [KubeResourceType: String] = [:]
        var objectProblems: [String: String] = [:]
        var newProblems: [String] = []
        var failures = 0
        var expected = Set<KubeResourceType>()
        var synced = Set<KubeResourceType>()
        var notify: (@Sendable () -> Void)?

        /// What a route's backend is made of: passed on from a namespace holding a gateway object too.
        static func isBackend(_ kind: ResourceKind) -> Bool {
            kind == .service || kind == .endpoints || kind == .pod
        }

        /// Whether `key` (a namespaced object other than a Secret or an edge object) passes on now.
        func passes(_ key: ResourceKey) -> Bool {
            monitored.contains(key.namespace) || (Self.isBackend(key.kind) && edgeByNamespace[key.namespace]?.isEmpty == false)
        }

        /// Gateway API objects, FSM Gateway policies and Ingresses: passed on from every namespace.
        static func isEdge(_ kind: ResourceKind) -> Bool {
            switch kind {
            case .ingress, .gatewayClass, .gateway, .httpRoute, .grpcRoute, .gatewayTCPRoute, .tlsRoute, .udpRoute, .rateLimitPolicy, .accessControlPolicy,
                 .loadBalancerPolicy, .sessionStickyPolicy, .healthCheckPolicy, .faultInjectionPolicy, .retryPolicy, .upstreamTLSPolicy, .gatewayTLSPolicy,
                 .circuitBreakingPolicy:
                true
            default:
                false
            }
        }

        mutating func apply(_ change: InformerChange, type: KubeResourceType) {
            switch change {
            case .upsert(let resource): upsert(resource)
            case .delete(let key):
                guard let kind = type.resourceKind else { return }
                delete(ResourceKey(kind: kind, namespace: type.namespaced ? key.namespace : "", name: key.name))
            }
        }

        private mutating func upsert(_ resource: Resource) {
            let key = resource.key
            objects[key] = resource
            switch key.kind {
            case .namespace:
                pending[key] = .upsert(resource)
                if monitored.insert(key.name).inserted {
                    for member in objectsByNamespace[key.name] ?? [] where !Self.isBackend(member.kind) || edgeByNamespace[key.name]?.isEmpty != false {
                        pending[member] = objects[member].map(ResourceChange.upsert)
                    }
                }
            case .meshConfig:
                pending[key] = .upsert(resource)
            case .secret where hiddenSecrets.contains(key):
                objects[key] = nil
            case .secret:
                secretsByNamespace[key.namespace, default: []].insert(key)
                if edgeByNamespace[key.namespace]?.isEmpty == false { pending[key] = .upsert(resource) }
            case _ where Self.isEdge(key.kind):
                pending[key] = .upsert(resource)
                let first = edgeByNamespace[key.namespace]?.isEmpty ?? true
                edgeByNamespace[key.namespace, default: []].insert(key)
                if first {
                    for secret in secretsByNamespace[key.namespace] ?? [] { pending[secret] = objects[secret].map(ResourceChange.upsert) }
                    if !monitored.contains(key.namespace) { passBackends(of: key.namespace) { .upsert($0) } }
                }
            default:
                objectsByNamespace[key.namespace, default: []].insert(key)
                if passes(key) { pending[key] = .upsert(resource) }
            }
        }

        private mutating func delete(_ key: ResourceKey) {
            objects[key] = nil
            switch key.kind {
            case .namespace:
                if monitored.remove(key.name) != nil {
                    for member in objectsByNamespace[key.name] ?? [] where !passes(member) { pending[member] = .delete(member) }
                }
                pending[key] = .delete(key)
            case .meshConfig:
                pending[key] = .delete(key)
            case .secret:
                secretsByNamespace[key.namespace]?.remove(key)
                if edgeByNamespace[key.namespace]?.isEmpty == false { pending[key] = .delete(key) }
            case _ where Self.isEdge(key.kind):
                pending[key] = .delete(key)
                edgeByNamespace[key.namespace]?.remove(key)
                if edgeByNamespace[key.namespace]?.isEmpty == true {
                    edgeByNamespace[key.namespace] = nil
                    for secret in secretsByNamespace[key.namespace] ?? [] { pending[secret] = .delete(secret) }
                    if !monitored.contains(key.namespace) { passBackends(of: key.namespace) { .delete($0.key) } }
                }
            default:
                let passed = passes(key)
                objectsByNamespace[key.namespace]?.remove(key)
                if passed { pending[key] = .delete(key) }
            }
        }

        /// Queues `change` for each Service, Endpoints and Pod of `namespace`.
        private mutating func passBackends(of namespace: String, _ change: (Resource) -> ResourceChange) {
            for member in objectsByNamespace[namespace] ?? [] where Self.isBackend(member.kind) {
                if let object = objects[member] { pending[member] = change(object) }
            }
        }
    }
}
