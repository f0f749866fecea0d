import MeshModel

/// Everything a pod's config depends on besides cluster-wide state: pods with equal keys share a config.
struct ProxyGroupKey: Hashable, Sendable {
    var namespace: String
    var serviceAccount: String
    /// Services selecting the pod, sorted.
    var served: [ServiceRef]
    /// For resolving named target ports.
    var containerPorts: [ContainerPort]

    init(pod: Pod, cluster: ClusterState) {
        namespace = pod.metadata.namespace
        serviceAccount = pod.spec.serviceAccountName
        served = cluster.services(selecting: pod)
        containerPorts = ClusterState.containerPorts(of: pod)
    }

    var identity: String { ServiceNames.identity(serviceAccount: serviceAccount, namespace: namespace) }
}

struct ProxyGroup: Sendable {
    var members: Set<PodKey> = []
    var config: ProxyConfig?
    var diagnostics: [String] = []
}

/// The outbound of a set of services before a client's identity is filled in.
struct OutboundAssembly: Sendable {
    var matches: [OutboundTrafficMatch]
    var clusters: [ClusterConfig]
    var clusterServices: [ServiceRef]
    var hash: UInt64

    /// Matches ordered by port then service; clusters deduplicated by name and sorted.
    init(pieces: [ServicePiece]) {
        var keyed: [(port: Int, order: Int, match: OutboundTrafficMatch)] = []
        var clusterEntries: [String: (ServiceRef, ClusterConfig)] = [:]
        var hash = ContentHash()
        for piece in pieces {
            for match in piece.matches { keyed.append((match.port, keyed.count, match)) }
            for (service, cluster) in zip(piece.clusterServices, piece.clusters) where clusterEntries[cluster.name] == nil {
                clusterEntries[cluster.name] = (service, cluster)
            }
            hash.add(piece.hash)
        }
        keyed.sort { ($0.port, $0.order) < ($1.port, $1.order) }
        matches = keyed.map(\.match)
        let sorted = clusterEntries.sorted { $0.key < $1.key }
        clusters = sorted.map(\.value.1)
        clusterServices = sorted.map(\.value.0)
        self.hash = hash.value
    }
}

extension MeshController {
    /// Computes one proxy group's config and the dependencies it read.
    mutating func computeConfig(for key: ProxyGroupKey) -> (ProxyConfig, Set<Dependency>, [String]) {
        let identity = key.identity
        let permissive = meshConfig.traffic.enablePermissiveTrafficPolicyMode
        let egress = meshConfig.traffic.enableEgress
        var dependencies: Set<Dependency> = [.meshConfig, .sourcePolicies(identity)]
        var problems: [String] = []

        // Outbound: every mesh service (permissive) or the services of the identities this one may reach (SMI).
        var outbound: OutboundAssembly
        if permissive {
            dependencies.insert(.catalog)
            if catalog == nil {
                let all = cluster.services.keys.filter { cluster.isMonitored($0.namespace) }.sorted()
                catalog = OutboundAssembly(pieces: all.compactMap { piece(for: $0) })
            }
            outbound = catalog!
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
            outbound = OutboundAssembly(pieces: sorted.compactMap { piece(for: $0) })
        }
        for i in outbound.matches.indices {
            outbound.matches[i].serviceIdentity = identity
            outbound.matches[i].allowedEgressTraffic = egress
        }
        var hash = ContentHash()
        hash.add(identity)
        hash.add(outbound.hash)
        hash.add(egress ? "egress" : "no-egress")
        if meshConfig.featureFlags.enableRetryPolicy {
            let policies = cluster.retryPolicies(from: identity)
            if !policies.isEmpty {
                for i in outbound.clusters.indices {
                    guard let policy = policies[outbound.clusterServices[i]] else { continue }
                    outbound.clusters[i].retryPolicy = policy
                    hash.add(outbound.clusters[i].name)
                    hash.add(policy.jsonValue.rendered())
                }
            }
        }

        let inbound = cluster.inbound(identity: identity, served: key.served, containerPorts: key.containerPorts,
                                      permissive: permissive, dependencies: &dependencies, diagnostics: &problems)
        let spec = ProxySpec(
            sidecarLogLevel: meshConfig.sidecar.logLevel,
            enableEgress: egress,
            enablePermissiveTrafficPolicyMode: permissive,
            enableRetryPolicy: meshConfig.featureFlags.enableRetryPolicy
        )
        hash.add(spec.jsonValue(serviceIdentity: identity).rendered())
        hash.add(inbound.jsonValue.rendered())
        let config = ProxyConfig(
            version: hash.hex, serviceIdentity: identity, spec: spec, inbound: inbound,
            outbound: OutboundConfig(trafficMatches: outbound.matches, clustersConfigs: outbound.clusters)
        )
        return (config, dependencies, problems)
    }
}
