import MeshModel

/// Everything a pod's config depends on besides cluster-wide state: pods with equal keys share a config.
struct ProxyGroupKey: Hashable, Sendable {
    let namespace: String
    let serviceAccount: String
    /// Services selecting the pod, sorted.
    let served: [ServiceRef]
    /// For resolving named target ports.
    let containerPorts: [ContainerPort]
    /// Hashed once: every pod of a full apply looks its key up, and the key holds several strings.
    private let hashCode: Int

    init(pod: Pod, key: PodKey, cluster: ClusterState) {
        namespace = pod.metadata.namespace
        serviceAccount = pod.spec.serviceAccountName
        served = cluster.servingServices[key] ?? cluster.services(selecting: pod)
        containerPorts = ClusterState.containerPorts(of: pod)
        var hasher = Hasher()
        hasher.combine(namespace)
        hasher.combine(serviceAccount)
        hasher.combine(served)
        hasher.combine(containerPorts)
        hashCode = hasher.finalize()
    }

    static func == (lhs: ProxyGroupKey, rhs: ProxyGroupKey) -> Bool {
        lhs.hashCode == rhs.hashCode && lhs.namespace == rhs.namespace && lhs.serviceAccount == rhs.serviceAccount
            && lhs.served == rhs.served && lhs.containerPorts == rhs.containerPorts
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hashCode)
    }

    var identity: String { ServiceNames.identity(serviceAccount: serviceAccount, namespace: namespace) }
}

struct ProxyGroup: Sendable {
    /// Its index in `MeshController.groups`; reused after the group is deleted.
    var id: Int
    var key: ProxyGroupKey
    var members: Set<PodKey> = []
    var config: ProxyConfig?
    var diagnostics: [ControllerDiagnostic] = []
    /// What the version hashes after the identity, the outbound hash and the egress flag (retry
    /// entries, spec and inbound JSON), so that a patched outbound re-versions without re-rendering.
    var hashTail: [String] = []
    /// Retry policies applied to outbound clusters, by cluster index.
    var retryByCluster: [Int: RetryPolicy] = [:]

    init(id: Int, key: ProxyGroupKey) {
        self.id = id
        self.key = key
    }

    /// The config's version, read without copying the config.
    var version: String? { config?.version }

    mutating func update(with computed: ComputedConfig) {
        config = computed.config
        diagnostics = computed.diagnostics
        hashTail = computed.hashTail
        retryByCluster = computed.retryByCluster
    }

    /// Takes the patched catalog (same shape: same services, ports and cluster names in the same
    /// order), stamped for this group and with its retry policies, and re-versions. Returns
    /// whether the version changed.
    mutating func patch(from catalog: OutboundAssembly) -> Bool {
        guard var config = self.config.take() else { return false }
        defer { self.config = config }
        let identity = config.serviceIdentity
        let egress = config.spec.enableEgress
        // The catalog's stores, shared with every other permissive client.
        config.outbound = catalog.outbound.stamped(serviceIdentity: identity, allowedEgressTraffic: egress)
        if !retryByCluster.isEmpty {
            var clusters = catalog.clusters
            for (i, policy) in retryByCluster { clusters[i].retryPolicy = policy }
            config.outbound.clustersConfigs = clusters
        }
        let version = ProxyGroup.version(identity: identity, outboundHash: catalog.hash, egress: egress, tail: hashTail)
        guard version != config.version else { return false }
        config.version = version
        return true
    }

    static func version(identity: String, outboundHash: UInt64, egress: Bool, tail: [String]) -> String {
        var hash = ContentHash()
        hash.add(identity)
        hash.add(outboundHash)
        hash.add(egress ? "egress" : "no-egress")
        for part in tail { hash.add(part) }
        return hash.hex
    }
}

/// Which entries of the catalog changed between two versions of the same shape.
struct CatalogDelta: Sendable {
    var matches: [Int]
    var clusters: [Int]

    init(matches: [Int] = [], clusters: [Int] = []) {
        self.matches = matches
        self.clusters = clusters
    }

    /// Nil when the shape changed (a service, port or cluster came or went): clients then recompute.
    init?(old: OutboundAssembly, new: OutboundAssembly) {
        guard old.matchServices == new.matchServices, old.matches.count == new.matches.count,
              old.clusterServices == new.clusterServices, old.clusters.count == new.clusters.count else { return nil }
        matches = []
        clusters = []
        for i in new.matches.indices where old.matches[i] != new.matches[i] {
            guard old.matches[i].port == new.matches[i].port else { return nil }
            matches.append(i)
        }
        for i in new.clusters.indices where old.clusters[i] != new.clusters[i] {
            guard old.clusters[i].name == new.clusters[i].name else { return nil }
            clusters.append(i)
        }
    }
}

/// The outbound of a set of services before a client's identity is filled in.
struct OutboundAssembly: Sendable {
    /// `matches` and `clusters` as the outbound every client of this assembly is given, stamped
    /// with its identity: the stores are shared by all of them.
    var outbound: OutboundConfig
    var matches: [OutboundTrafficMatch]
    /// The service of each match (parallel to `matches`).
    var matchServices: [ServiceRef]
    var clusters: [ClusterConfig]
    var clusterServices: [ServiceRef]
    var hash: UInt64
    /// Where each service's entries are (the catalog keeps one to patch changed pieces in place).
    var index: CatalogIndex?

    /// Matches ordered by port then service; clusters deduplicated by name (the first piece that has
    /// a name provides it) and sorted. `indexed`: also record where each piece's entries went.
    init(pieces: [ServicePiece], indexed: Bool = false) {
        var keyed: [(port: Int, order: Int, match: OutboundTrafficMatch, service: ServiceRef, piece: Int)] = []
        var clusterEntries: [String: (service: ServiceRef, cluster: ClusterConfig, owner: ServiceRef)] = [:]
        var hash = ContentHash()
        for (position, piece) in pieces.enumerated() {
            for match in piece.matches { keyed.append((match.port, keyed.count, match, piece.service, position)) }
            for (service, cluster) in zip(piece.clusterServices, piece.clusters) where clusterEntries[cluster.name] == nil {
                clusterEntries[cluster.name] = (service, cluster, piece.service)
            }
            hash.add(piece.hash)
        }
        keyed.sort { ($0.port, $0.order) < ($1.port, $1.order) }
        matches = keyed.map(\.match)
        matchServices = keyed.map(\.service)
        let sorted = clusterEntries.sorted { $0.key < $1.key }
        clusters = sorted.map(\.value.cluster)
        clusterServices = sorted.map(\.value.service)
        outbound = OutboundConfig(trafficMatches: matches, clustersConfigs: clusters)
        self.hash = hash.value
        if indexed {
            // A piece's matches are sorted by port, as are its entries here: the k-th found is its k-th match.
            var matchPositions = [[Int]](repeating: [], count: pieces.count)
            for (position, entry) in keyed.enumerated() { matchPositions[entry.piece].append(position) }
            var entries: [ServiceRef: CatalogIndex.Entry] = [:]
            entries.reserveCapacity(pieces.count)
            for (position, piece) in pieces.enumerated() {
                entries[piece.service] = CatalogIndex.Entry(order: position, matchPositions: matchPositions[position],
                                                            clusterNames: piece.clusters.map(\.name))
            }
            var clusterPositions: [String: Int] = [:]
            clusterPositions.reserveCapacity(sorted.count)
            for (position, entry) in sorted.enumerated() { clusterPositions[entry.key] = position }
            index = CatalogIndex(entries: entries, pieceHashes: pieces.map(\.hash),
                                 clusterOwners: sorted.map(\.value.owner), clusterPositions: clusterPositions)
        }
    }
}

struct ComputedConfig {
    var config: ProxyConfig
    var dependencies: Set<Dependency>
    var diagnostics: [ControllerDiagnostic]
    var hashTail: [String]
    var retryByCluster: [Int: RetryPolicy]
}

extension MeshController {
    /// Every mesh service's outbound piece, assembled.
    mutating func buildCatalog() -> OutboundAssembly {
        let all = cluster.services.keys.filter { cluster.isMonitored($0.namespace) }.sorted()
        return OutboundAssembly(pieces: all.compactMap { piece(for: $0) }, indexed: true)
    }

    /// Computes one proxy group's config and the dependencies it read.
    mutating func computeConfig(for key: ProxyGroupKey) -> ComputedConfig {
        let identity = key.identity
        let permissive = meshConfig.traffic.enablePermissiveTrafficPolicyMode
        let egress = meshConfig.traffic.enableEgress
        var dependencies: Set<Dependency> = [.meshConfig, .sourcePolicies(identity)]
        var problems: [ControllerDiagnostic] = []

        // Outbound: every mesh service (permissive) or the services of the identities this one may reach (SMI).
        let assembly: OutboundAssembly
        if permissive {
            dependencies.insert(.catalog)
            if catalog == nil { catalog = buildCatalog() }
            assembly = catalog!
        } else {
            var reached = Set<ServiceRef>()
            for targetKey in cluster.targetsBySource[identity] ?? [] {
                guard let target = cluster.trafficTargets[targetKey], target.destination.kind == "ServiceAccount" else { continue }
                let destination = ServiceNames.identity(serviceAccount: target.destination.name, namespace: target.destination.namespace)
                dependencies.insert(.identityServices(destination))
                reached.formUnion(cluster.services(ofIdentity: destination))
            }
            // A split's root is reachable when one of its backends is (the split itself grants nothing).
            for backend in reached {
                dependencies.insert(.splits(backend))
                for splitKey in cluster.splitsByService[backend] ?? [] {
                    if case .success(let split) = cluster.resolve(splitKey), split.backends.contains(where: { $0.service == backend }) {
                        reached.insert(split.root)
                    }
                }
            }
            let sorted = reached.sorted()
            for ref in sorted { dependencies.insert(.piece(ref)) }
            assembly = OutboundAssembly(pieces: sorted.compactMap { piece(for: $0) })
        }
        var outbound = assembly.outbound.stamped(serviceIdentity: identity, allowedEgressTraffic: egress)
        var tail: [String] = []
        var retryByCluster: [Int: RetryPolicy] = [:]
        if meshConfig.featureFlags.enableRetryPolicy {
            let policies = cluster.retryPolicies(from: identity)
            if !policies.isEmpty {
                var clusters = assembly.clusters
                for i in clusters.indices {
                    guard let policy = policies[assembly.clusterServices[i]] else { continue }
                    clusters[i].retryPolicy = policy
                    retryByCluster[i] = policy
                    tail.append(clusters[i].name)
                    tail.append(policy.jsonValue.rendered())
                }
                // Clusters without a policy for this client stay the assembly's shared store.
                if !retryByCluster.isEmpty { outbound.clustersConfigs = clusters }
            }
        }

        let inbound = cluster.inbound(identity: identity, served: key.served, containerPorts: key.containerPorts,
                                      permissive: permissive, accessControl: meshConfig.featureFlags.enableAccessControlPolicy,
                                      dependencies: &dependencies, diagnostics: &problems)
        let spec = ProxySpec(
            sidecarLogLevel: meshConfig.sidecar.logLevel,
            enableEgress: egress,
            enablePermissiveTrafficPolicyMode: permissive,
            enableRetryPolicy: meshConfig.featureFlags.enableRetryPolicy,
            accessLog: meshConfig.observability.remoteLogging.enable,
            tracing: meshConfig.observability.tracing.proxySpec,
            remoteLogging: meshConfig.observability.remoteLogging.proxySpec,
            egressPolicy: meshConfig.featureFlags.enableEgressPolicy
                ? cluster.egressPolicy(for: identity, dependencies: &dependencies, diagnostics: &problems) : nil,
            egressGateway: cluster.egressGateway(dependencies: &dependencies, diagnostics: &problems)
        )
        tail.append(spec.jsonValue(serviceIdentity: identity).rendered())
        tail.append(inbound.jsonValue.rendered())
        let config = ProxyConfig(
            version: ProxyGroup.version(identity: identity, outboundHash: assembly.hash, egress: egress, tail: tail),
            serviceIdentity: identity, spec: spec, inbound: inbound, outbound: outbound
        )
        return ComputedConfig(config: config, dependencies: dependencies, diagnostics: problems, hashTail: tail, retryByCluster: retryByCluster)
    }
}
