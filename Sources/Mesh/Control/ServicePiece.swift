import MeshModel

/// The client-independent outbound part for one mesh service: its traffic matches (one per TCP
/// port, `serviceIdentity` left empty for the client to fill in) and the clusters they target.
/// Computed once per service and shared by every client that reaches the service.
struct ServicePiece: Sendable {
    var service: ServiceRef
    var matches: [OutboundTrafficMatch]
    var clusters: [ClusterConfig]
    /// The service each cluster belongs to (parallel to `clusters`), for per-client retry policies.
    var clusterServices: [ServiceRef]
    var hash: UInt64
    var dependencies: Set<Dependency>
    var diagnostics: [String]
}

extension ClusterState {
    /// `targetPort` of a service port for a pod: a number, a named container port, or the service port when absent.
    static func targetPort(of port: ServicePort, containerPorts: [ContainerPort]) -> Int? {
        switch port.targetPort {
        case nil: return port.port
        case .int(let number): return number
        case .string(let name):
            if let named = containerPorts.first(where: { $0.name == name }) { return named.containerPort }
            return Int(name)
        }
    }

    static func containerPorts(of pod: Pod) -> [ContainerPort] {
        pod.spec.containers.flatMap(\.ports)
    }

    /// `ip:targetPort` of every endpoint of one service port, sorted: selected pods with an IP that
    /// are ready (`Pod.isReady`: a not-ready pod leaves the endpoints as from an EndpointSlice), or
    /// the addresses of the Endpoints object for a selectorless service.
    func endpoints(of ref: ServiceRef, port: ServicePort, diagnostics: inout [String]) -> [ClusterEndpoint] {
        guard let service = services[ref] else { return [] }
        var addresses: [String] = []
        if service.selector.isEmpty {
            for subset in endpoints[ref]?.subsets ?? [] {
                let match = subset.ports.first(where: { $0.name != nil && $0.name == port.name })
                    ?? (subset.ports.count == 1 ? subset.ports.first : nil)
                guard let endpointPort = match else { continue }
                addresses += subset.addresses.map { "\($0.ip):\(endpointPort.port)" }
            }
        } else {
            for key in pods(selectedBy: service.selector, in: ref.namespace) {
                guard let pod = pods[key], pod.isReady, let ip = pod.podIP, !ip.isEmpty else { continue }
                guard let target = Self.targetPort(of: port, containerPorts: Self.containerPorts(of: pod)) else {
                    diagnostics.append("Service \(ref) port \(port.port): pod \(key) has no container port named by targetPort; pod left out")
                    continue
                }
                addresses.append("\(ip):\(target)")
            }
        }
        return Set(addresses).sorted().map { ClusterEndpoint(address: $0, weight: 100) }
    }

    /// The outbound piece of a mesh service; nil when the service does not exist or is outside the mesh.
    func outboundPiece(for ref: ServiceRef) -> ServicePiece? {
        guard let service = services[ref], isMonitored(ref.namespace) else { return nil }
        var dependencies: Set<Dependency> = [.serviceSpec(ref), .serviceEndpoints(ref), .upstreamSetting(ref), .splits(ref)]
        var diagnostics: [String] = []
        let split = self.split(forRoot: ref)
        let fqdn = ref.fqdn
        var matches: [OutboundTrafficMatch] = []
        var clusters: [String: (ServiceRef, ClusterConfig)] = [:]

        func cluster(of target: ServiceRef, port: ServicePort) -> ClusterConfig {
            ClusterConfig(
                name: ServiceNames.cluster(service: target.name, namespace: target.namespace, port: port.port),
                endpoints: endpoints(of: target, port: port, diagnostics: &diagnostics),
                connectionSettings: upstreamSetting(for: target)?.connectionSettings
            )
        }

        for port in service.ports where port.transportProtocol.uppercased() == "TCP" {
            let ownEndpoints = endpoints(of: ref, port: port, diagnostics: &diagnostics)
            var targets: [WeightedCluster] = []
            if let split {
                for backend in split.backends {
                    dependencies.formUnion([.serviceSpec(backend.service), .serviceEndpoints(backend.service), .upstreamSetting(backend.service)])
                    guard let backendService = services[backend.service],
                          let backendPort = backendService.ports.first(where: { $0.port == port.port })
                              ?? backendService.ports.first(where: { $0.name != nil && $0.name == port.name })
                              ?? (backendService.ports.count == 1 ? backendService.ports.first : nil)
                    else {
                        diagnostics.append("TrafficSplit \(split.key.namespace)/\(split.key.name): backend \(backend.service) has no port matching \(port.port); left out")
                        continue
                    }
                    // The backend cluster is named by the root's port so that root and backends line up.
                    var config = cluster(of: backend.service, port: backendPort)
                    config.name = ServiceNames.cluster(service: backend.service.name, namespace: backend.service.namespace, port: port.port)
                    clusters[config.name] = (backend.service, config)
                    targets.append(WeightedCluster(name: config.name, weight: backend.weight))
                }
                // In the order a sidecar reads them back (`TargetClusters` is a JSON map printed with
                // sorted keys, as FSM's Go controller prints it), so the simulator's engine and a
                // real sidecar take a split's backends in the same order.
                targets.sort { $0.name < $1.name }
            } else {
                let config = ClusterConfig(
                    name: ServiceNames.cluster(service: ref.name, namespace: ref.namespace, port: port.port),
                    endpoints: ownEndpoints,
                    connectionSettings: upstreamSetting(for: ref)?.connectionSettings
                )
                clusters[config.name] = (ref, config)
                targets.append(WeightedCluster(name: config.name, weight: 100))
            }

            let ranges: [String]
            switch service.clusterIP {
            case "None":
                ranges = Set(ownEndpoints.map { address in
                    String(address.address[..<(address.address.lastIndex(of: ":") ?? address.address.endIndex)]) + "/32"
                }).sorted()
            case let ip? where !ip.isEmpty: ranges = ["\(ip)/32"]
            default: ranges = []
            }

            var match = OutboundTrafficMatch(port: port.port, appProtocol: port.appProtocol, destinationIPRanges: ranges, serviceIdentity: "")
            switch port.appProtocol {
            case .http, .grpc:
                match.httpHostPort2Service = ServiceNames.hostForms(service: ref.name, namespace: ref.namespace, port: port.port)
                    .sorted().map { HostMapping(host: $0, service: fqdn) }
                match.httpServiceRouteRules = [ServiceRouteRules(service: fqdn, rules: [RouteRule(pathRegex: ".*", targetClusters: targets)])]
            case .tcp, .tcpServerFirst:
                match.targetClusters = targets
            }
            matches.append(match)
        }
        matches.sort { $0.port < $1.port }
        let sortedClusters = clusters.sorted { $0.key < $1.key }
        var hash = ContentHash()
        hash.add(ref.description)
        for match in matches { hash.add(match.jsonValue.rendered()) }
        for (_, entry) in sortedClusters { hash.add(entry.1.jsonValue.rendered()) }
        return ServicePiece(
            service: ref, matches: matches,
            clusters: sortedClusters.map(\.value.1), clusterServices: sortedClusters.map(\.value.0),
            hash: hash.value, dependencies: dependencies, diagnostics: diagnostics
        )
    }
}
