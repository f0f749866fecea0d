import MeshModel

/// The resources the controller has seen, with the indexes that let it find what a change affects.
struct ClusterState: Sendable {
    struct LabelKey: Hashable, Sendable {
        var namespace: String
        var key: String
        var value: String
    }

    /// What one change touched.
    struct Effect {
        var touched: Set<Dependency> = []
        /// Pods whose sidecar decision or proxy group may have changed.
        var regroup: Set<PodKey> = []
    }

    let meshName: String
    let controlPlaneNamespace: String

    private(set) var namespaces: [String: Namespace] = [:]
    private(set) var services: [ServiceRef: Service] = [:]
    private(set) var servicesByNamespace: [String: Set<ServiceRef>] = [:]
    /// Services with a selector, each under one of its selector's pairs (the smallest key): a pod's
    /// selecting services are among those indexed under its own labels, found without a scan.
    private var servicesBySelectorPair: [LabelKey: Set<ServiceRef>] = [:]
    private(set) var pods: [PodKey: Pod] = [:]
    /// `services(selecting:)` of every pod, kept current: set with the pod, and redone for the pods
    /// a service upsert or delete selects before or after.
    private(set) var servingServices: [PodKey: [ServiceRef]] = [:]
    private(set) var podsByNamespace: [String: Set<PodKey>] = [:]
    private var podsByLabel: [LabelKey: Set<PodKey>] = [:]
    private(set) var podsByIdentity: [String: Set<PodKey>] = [:]
    private(set) var endpoints: [ServiceRef: Endpoints] = [:]
    private(set) var trafficTargets: [ResourceKey: TrafficTarget] = [:]
    private(set) var targetsBySource: [String: Set<ResourceKey>] = [:]
    private(set) var targetsByDestination: [String: Set<ResourceKey>] = [:]
    private(set) var httpRouteGroups: [ResourceKey: HTTPRouteGroup] = [:]
    private(set) var tcpRoutes: [ResourceKey: TCPRoute] = [:]
    private(set) var splits: [ResourceKey: TrafficSplit] = [:]
    /// Splits by the services they name (root and backends), as far as the names parse.
    private(set) var splitsByService: [ServiceRef: Set<ResourceKey>] = [:]
    private(set) var upstreamSettings: [ResourceKey: UpstreamTrafficSetting] = [:]
    private(set) var settingsByService: [ServiceRef: Set<ResourceKey>] = [:]
    private(set) var retries: [ResourceKey: Retry] = [:]
    private(set) var retriesBySource: [String: Set<ResourceKey>] = [:]
    /// Gateway API, FSM Gateway policy, Ingress, IngressBackend and Secret objects, by key.
    private(set) var gatewayObjects: [ResourceKey: Resource] = [:]
    private(set) var ingressBackendsByNamespace: [String: Set<ResourceKey>] = [:]
    /// AccessControls, and their keys by namespace (they admit clients to that namespace's services).
    var accessControls: [ResourceKey: AccessControl] = [:]
    var accessControlsByNamespace: [String: Set<ResourceKey>] = [:]
    /// Egresses, and their keys by source identity (`ClusterState+Egress`).
    var egresses: [ResourceKey: Egress] = [:]
    var egressesBySource: [String: Set<ResourceKey>] = [:]
    /// AccessCerts: no proxy config depends on them; `MeshController.accessCerts` hands them to the shell.
    private(set) var accessCerts: [ResourceKey: AccessCert] = [:]
    var egressGateways: [ResourceKey: EgressGateway] = [:]
    /// Kept so that deletes and re-upserts of resources the controller does not act on are harmless.
    private var passive: [ResourceKey: Resource] = [:]
    /// First-seen order of each resource: "later wins" merges use it, so a newer policy for the
    /// same host overrides an older one field by field (demos.md 4.1 applies a second UTS with a burst).
    private(set) var creationOrder: [ResourceKey: Int] = [:]
    private var nextSequence = 0

    init(meshName: String, controlPlaneNamespace: String) {
        self.meshName = meshName
        self.controlPlaneNamespace = controlPlaneNamespace
    }

    /// Before a bulk load of `count` resources: room in the largest tables, so that they do not
    /// grow (and rehash) step by step.
    mutating func reserveCapacity(adding count: Int) {
        creationOrder.reserveCapacity(creationOrder.count + count)
        pods.reserveCapacity(pods.count + count)
        servingServices.reserveCapacity(servingServices.count + count)
    }

    // MARK: Queries

    /// The injection rule the webhook applies too.
    var injectionRule: InjectionRule { InjectionRule(meshName: meshName, controlPlaneNamespace: controlPlaneNamespace) }

    /// In the mesh: labelled `flomesh.io/monitored-by: <mesh>` and not the control plane's namespace.
    func isMonitored(_ namespace: String) -> Bool {
        guard let ns = namespaces[namespace] else { return false }
        return injectionRule.isMonitored(ns)
    }

    /// `InjectionRule` (F1-047): the pods the webhook injects are the ones that get a config.
    func isInjected(_ pod: Pod) -> Bool {
        injectionRule.decide(pod, namespace: namespaces[pod.metadata.namespace]).injects
    }

    static func identity(of pod: Pod) -> String {
        ServiceNames.identity(serviceAccount: pod.spec.serviceAccountName, namespace: pod.metadata.namespace)
    }

    static func matches(_ selector: [String: String], _ labels: [String: String]) -> Bool {
        !selector.isEmpty && selector.allSatisfy { labels[$0.key] == $0.value }
    }

    /// Pods of the namespace matched by a (non-empty) selector, via the smallest label index.
    func pods(selectedBy selector: [String: String], in namespace: String) -> [PodKey] {
        guard !selector.isEmpty else { return [] }
        var smallest: Set<PodKey>?
        for (key, value) in selector {
            let candidates = podsByLabel[LabelKey(namespace: namespace, key: key, value: value)] ?? []
            if smallest == nil || candidates.count < smallest!.count { smallest = candidates }
        }
        return (smallest ?? []).filter { key in pods[key].map { Self.matches(selector, $0.metadata.labels) } ?? false }
    }

    /// Services of the pod's namespace whose selector matches the pod, sorted.
    func services(selecting pod: Pod) -> [ServiceRef] {
        var result: [ServiceRef] = []
        let namespace = pod.metadata.namespace
        for (key, value) in pod.metadata.labels {
            for ref in servicesBySelectorPair[LabelKey(namespace: namespace, key: key, value: value)] ?? [] {
                if let service = services[ref], Self.matches(service.selector, pod.metadata.labels) { result.append(ref) }
            }
        }
        // A service is indexed under one pair only, so it appears at most once.
        return result.sorted()
    }

    /// The pair a service is indexed under in `servicesBySelectorPair`.
    private static func indexPair(of service: Service, namespace: String) -> LabelKey? {
        guard let key = service.selector.keys.min(), let value = service.selector[key] else { return nil }
        return LabelKey(namespace: namespace, key: key, value: value)
    }

    /// Mesh services (in monitored namespaces) whose selected pods run as `identity`, sorted.
    func services(ofIdentity identity: String) -> [ServiceRef] {
        var result = Set<ServiceRef>()
        for key in podsByIdentity[identity] ?? [] {
            guard let pod = pods[key], isMonitored(pod.metadata.namespace) else { continue }
            result.formUnion(servingServices[key] ?? services(selecting: pod))
        }
        return result.sorted()
    }

    // MARK: Changes

    /// Applies one change, adding what it touched to `effect`.
    mutating func apply(_ change: ResourceChange, into effect: inout Effect) {
        switch change {
        case .upsert(let resource):
            let key = resource.key
            // One lookup: a new key gets the next sequence number, a known one keeps its own.
            let sequence = nextSequence
            if Self.assignIfNew(&creationOrder[key, default: -1], sequence) { nextSequence += 1 }
            upsert(resource, key: key, into: &effect)
        case .delete(let key):
            delete(key, into: &effect)
            creationOrder[key] = nil
        }
    }

    /// Sets a creation order that is still unset (-1); returns whether it did.
    private static func assignIfNew(_ order: inout Int, _ sequence: Int) -> Bool {
        guard order < 0 else { return false }
        order = sequence
        return true
    }

    private mutating func upsert(_ resource: Resource, key: ResourceKey, into effect: inout Effect) {
        switch resource {
        case .namespace(let ns): setNamespace(ns.metadata.name, ns, into: &effect)
        case .service(let service): setService(ServiceRef(namespace: key.namespace, name: key.name), service, into: &effect)
        case .pod(let pod): setPod(PodKey(namespace: key.namespace, name: key.name), pod, into: &effect)
        case .endpoints(let object):
            let ref = ServiceRef(namespace: key.namespace, name: key.name)
            endpoints[ref] = object
            effect.touched.insert(.serviceEndpoints(ref))
        case .trafficTarget(let target): setTrafficTarget(key, target, into: &effect)
        case .httpRouteGroup(let group):
            httpRouteGroups[key] = group
            effect.touched.insert(.routeSpec(key))
        case .tcpRoute(let route):
            tcpRoutes[key] = route
            effect.touched.insert(.routeSpec(key))
        case .trafficSplit(let split): setSplit(key, split, into: &effect)
        case .upstreamTrafficSetting(let setting): setUpstreamSetting(key, setting, into: &effect)
        case .retry(let retry): setRetry(key, retry, into: &effect)
        case .accessControl(let control): setAccessControl(key, control, into: &effect)
        case .egress(let egress): setEgress(key, egress, into: &effect)
        case .accessCert(let cert): accessCerts[key] = cert // the controller's shell issues them (`AccessCertIssuer`)
        case .egressGateway(let gateway): setEgressGateway(key, gateway, into: &effect)
        case .meshConfig:
            effect.touched.insert(.meshConfig) // the controller keeps the MeshConfig itself
        case .serviceAccount, .workload:
            passive[key] = resource
        case .ingressBackend:
            gatewayObjects[key] = resource
            ingressBackendsByNamespace[key.namespace, default: []].insert(key)
            effect.touched.insert(.ingressBackends(key.namespace))
        case .secret, .ingress, .gatewayClass, .gateway, .gatewayRoute, .gatewayPolicy:
            gatewayObjects[key] = resource // the gateway part reads them (`MeshController+Gateway.swift`)
        }
    }

    private mutating func delete(_ key: ResourceKey, into effect: inout Effect) {
        let ref = ServiceRef(namespace: key.namespace, name: key.name)
        switch key.kind {
        case .namespace: setNamespace(key.name, nil, into: &effect)
        case .service: setService(ref, nil, into: &effect)
        case .pod: setPod(PodKey(namespace: key.namespace, name: key.name), nil, into: &effect)
        case .endpoints:
            if endpoints.removeValue(forKey: ref) != nil { effect.touched.insert(.serviceEndpoints(ref)) }
        case .trafficTarget: setTrafficTarget(key, nil, into: &effect)
        case .httpRouteGroup:
            if httpRouteGroups.removeValue(forKey: key) != nil { effect.touched.insert(.routeSpec(key)) }
        case .tcpRoute:
            if tcpRoutes.removeValue(forKey: key) != nil { effect.touched.insert(.routeSpec(key)) }
        case .trafficSplit: setSplit(key, nil, into: &effect)
        case .upstreamTrafficSetting: setUpstreamSetting(key, nil, into: &effect)
        case .retry: setRetry(key, nil, into: &effect)
        case .accessControl: setAccessControl(key, nil, into: &effect)
        case .egress: setEgress(key, nil, into: &effect)
        case .accessCert: accessCerts[key] = nil
        case .egressGateway: setEgressGateway(key, nil, into: &effect)
        case .meshConfig: effect.touched.insert(.meshConfig)
        case .serviceAccount, .deployment, .statefulSet: passive[key] = nil
        case .ingressBackend:
            if gatewayObjects.removeValue(forKey: key) != nil { effect.touched.insert(.ingressBackends(key.namespace)) }
            ingressBackendsByNamespace[key.namespace]?.remove(key)
        case .secret, .ingress, .gatewayClass, .gateway, .httpRoute, .grpcRoute, .gatewayTCPRoute, .tlsRoute, .udpRoute,
             .rateLimitPolicy, .accessControlPolicy, .loadBalancerPolicy, .sessionStickyPolicy, .healthCheckPolicy, .faultInjectionPolicy,
             .retryPolicy, .upstreamTLSPolicy, .gatewayTLSPolicy, .circuitBreakingPolicy:
            gatewayObjects[key] = nil
        }
    }

    private mutating func setNamespace(_ name: String, _ ns: Namespace?, into effect: inout Effect) {
        let wasMonitored = isMonitored(name)
        namespaces[name] = ns
        effect.regroup.formUnion(podsByNamespace[name] ?? [])
        guard wasMonitored != isMonitored(name) else { return }
        // Services of the namespace enter or leave the mesh.
        effect.touched.insert(.catalog)
        for ref in servicesByNamespace[name] ?? [] { effect.touched.insert(.serviceSpec(ref)) }
        for key in podsByNamespace[name] ?? [] {
            if let pod = pods[key] { effect.touched.insert(.identityServices(Self.identity(of: pod))) }
        }
    }

    private mutating func setService(_ ref: ServiceRef, _ service: Service?, into effect: inout Effect) {
        let old = services[ref]
        services[ref] = service
        if service != nil { servicesByNamespace[ref.namespace, default: []].insert(ref) } else { servicesByNamespace[ref.namespace]?.remove(ref) }
        if let pair = old.flatMap({ Self.indexPair(of: $0, namespace: ref.namespace) }) { servicesBySelectorPair[pair]?.remove(ref) }
        if let pair = service.flatMap({ Self.indexPair(of: $0, namespace: ref.namespace) }) { servicesBySelectorPair[pair, default: []].insert(ref) }
        effect.touched.insert(.serviceSpec(ref))
        effect.touched.insert(.serviceEndpoints(ref))
        if (old == nil) != (service == nil) {
            effect.touched.insert(.catalog)
            // A split naming this service may become valid or invalid: touch every service it names.
            effect.touched.insert(.splits(ref))
            for key in splitsByService[ref] ?? [] {
                for named in splits[key].map(Self.namedServices(of:)) ?? [] { effect.touched.insert(.splits(named)) }
            }
        }
        // Pods selected before or after serve a different set of services now.
        let oldSelected = old.map { pods(selectedBy: $0.selector, in: ref.namespace) } ?? []
        let newSelected = service.map { pods(selectedBy: $0.selector, in: ref.namespace) } ?? []
        if old?.selector != service?.selector {
            for key in oldSelected + newSelected {
                if let pod = pods[key] { effect.touched.insert(.identityServices(Self.identity(of: pod))) }
            }
        }
        for key in oldSelected + newSelected {
            if let pod = pods[key] { servingServices[key] = services(selecting: pod) }
        }
        effect.regroup.formUnion(oldSelected)
        effect.regroup.formUnion(newSelected)
    }

    private mutating func setPod(_ key: PodKey, _ pod: Pod?, into effect: inout Effect) {
        let old = pods[key]
        let oldIdentity = old.map(Self.identity(of:))
        let newIdentity = pod.map(Self.identity(of:))
        if let old, let oldIdentity {
            podsByNamespace[key.namespace]?.remove(key)
            for (k, v) in old.metadata.labels { podsByLabel[LabelKey(namespace: key.namespace, key: k, value: v)]?.remove(key) }
            podsByIdentity[oldIdentity]?.remove(key)
        }
        pods[key] = pod
        if let pod, let newIdentity {
            podsByNamespace[key.namespace, default: []].insert(key)
            for (k, v) in pod.metadata.labels { podsByLabel[LabelKey(namespace: key.namespace, key: k, value: v), default: []].insert(key) }
            podsByIdentity[newIdentity, default: []].insert(key)
        }
        effect.regroup.insert(key)
        // Endpoints of the services selecting the pod before or after (the set deduplicates them).
        let oldServices = servingServices[key] ?? []
        var newServices: [ServiceRef]?
        if let pod { newServices = services(selecting: pod) }
        servingServices[key] = newServices
        for ref in oldServices { effect.touched.insert(.serviceEndpoints(ref)) }
        for ref in newServices ?? [] { effect.touched.insert(.serviceEndpoints(ref)) }
        let identityInputsChanged = old?.metadata.labels != pod?.metadata.labels || old?.spec.serviceAccountName != pod?.spec.serviceAccountName
        if identityInputsChanged {
            if let oldIdentity { effect.touched.insert(.identityServices(oldIdentity)) }
            if let newIdentity { effect.touched.insert(.identityServices(newIdentity)) }
        }
    }

    static func identity(of reference: IdentityReference) -> String? {
        guard reference.kind == "ServiceAccount" else { return nil }
        return ServiceNames.identity(serviceAccount: reference.name, namespace: reference.namespace)
    }

    private mutating func setTrafficTarget(_ key: ResourceKey, _ target: TrafficTarget?, into effect: inout Effect) {
        for version in [trafficTargets[key], target].compactMap({ $0 }) {
            for source in version.sources.compactMap(Self.identity(of:)) { effect.touched.insert(.sourcePolicies(source)) }
            if let destination = Self.identity(of: version.destination) { effect.touched.insert(.destinationPolicies(destination)) }
        }
        if let old = trafficTargets[key] {
            for source in old.sources.compactMap(Self.identity(of:)) { targetsBySource[source]?.remove(key) }
            if let destination = Self.identity(of: old.destination) { targetsByDestination[destination]?.remove(key) }
        }
        trafficTargets[key] = target
        if let target {
            for source in target.sources.compactMap(Self.identity(of:)) { targetsBySource[source, default: []].insert(key) }
            if let destination = Self.identity(of: target.destination) { targetsByDestination[destination, default: []].insert(key) }
        }
    }

    /// The services a split names (root and backends) as far as the names parse.
    static func namedServices(of split: TrafficSplit) -> [ServiceRef] {
        let namespace = split.metadata.namespace
        return ([split.service] + split.backends.map(\.service)).compactMap { ServiceNames.parseService($0, defaultNamespace: namespace) }
    }

    private mutating func setSplit(_ key: ResourceKey, _ split: TrafficSplit?, into effect: inout Effect) {
        if let old = splits[key] {
            for ref in Self.namedServices(of: old) {
                splitsByService[ref]?.remove(key)
                effect.touched.insert(.splits(ref))
            }
        }
        splits[key] = split
        if let split {
            for ref in Self.namedServices(of: split) {
                splitsByService[ref, default: []].insert(key)
                effect.touched.insert(.splits(ref))
            }
        }
    }

    /// The service an UpstreamTrafficSetting's host names: an FQDN form or a bare name, in the UTS's namespace.
    static func service(of setting: UpstreamTrafficSetting) -> ServiceRef? {
        guard let ref = ServiceNames.parseService(setting.host, defaultNamespace: setting.metadata.namespace),
              ref.namespace == setting.metadata.namespace else { return nil }
        return ref
    }

    private mutating func setUpstreamSetting(_ key: ResourceKey, _ setting: UpstreamTrafficSetting?, into effect: inout Effect) {
        if let old = upstreamSettings[key], let ref = Self.service(of: old) {
            settingsByService[ref]?.remove(key)
            effect.touched.insert(.upstreamSetting(ref))
        }
        upstreamSettings[key] = setting
        effect.touched.insert(.routeSpec(key)) // an Egress naming it as a match reads it so
        if let setting, let ref = Self.service(of: setting) {
            settingsByService[ref, default: []].insert(key)
            effect.touched.insert(.upstreamSetting(ref))
        }
    }

    private mutating func setRetry(_ key: ResourceKey, _ retry: Retry?, into effect: inout Effect) {
        if let old = retries[key], let source = Self.identity(of: old.source) {
            retriesBySource[source]?.remove(key)
            effect.touched.insert(.sourcePolicies(source))
        }
        retries[key] = retry
        if let retry, let source = Self.identity(of: retry.source) {
            retriesBySource[source, default: []].insert(key)
            effect.touched.insert(.sourcePolicies(source))
        }
    }

    /// Keys sorted by first-seen order (oldest first).
    func inCreationOrder(_ keys: Set<ResourceKey>) -> [ResourceKey] {
        keys.sorted { (creationOrder[$0] ?? Int.max, $0) < (creationOrder[$1] ?? Int.max, $1) }
    }
}
