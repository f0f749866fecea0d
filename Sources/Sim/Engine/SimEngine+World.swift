import MeshControl
import MeshModel
import MeshProxy

/// The virtual cluster: namespaces, services with cluster IPs and DNS names, workloads stamped
/// out into pods with IPs, and the controller that watches them all.
extension SimEngine {
    func buildInitialWorld() {
        var changes: [ResourceChange] = []
        for name in scenario.mesh.namespaces {
            changes += upsertNamespace(Namespace(metadata: ObjectMeta(name: name)))
        }
        for resource in scenario.manifests {
            changes += upsert(resource)
        }
        let update = controller.apply(changes)
        noteDiagnostics()
        buildOutsideWorld()
        syncGatewayPods()
        // At 0s the mesh has settled: every pod starts with its configuration.
        adoptNewPods()
        for pod in update.changed.compactMap({ podIndex[$0] }) {
            if let config = controller.config(for: pods[pod].key) { applyConfig(config, to: pod) }
        }
        for pod in pods.indices { startClientLoops(pod) }
    }

    /// Applies resource changes at runtime (a step): the world first, then the controller, whose
    /// new configs reach the proxies after the config delay.
    func applyAtRuntime(_ changes: [ResourceChange]) {
        let update = controller.apply(changes)
        noteDiagnostics()
        let created = adoptNewPods()
        schedulePush(update)
        scheduleGatewayPush(update)
        for pod in created { startClientLoops(pod) }
    }

    func schedulePush(_ update: ControllerUpdate) {
        let targets = update.changed.compactMap { podIndex[$0] }
        guard !targets.isEmpty else { return }
        pendingPushes.append(targets)
        queue.schedule(.configPush(Int32(pendingPushes.count - 1)), at: now + configDelay)
    }

    func pushConfigs(_ index: Int) {
        var pushed = 0
        for pod in pendingPushes[index] where pods[pod].alive && pods[pod].hasSidecar && !pods[pod].sidecarDown {
            guard let config = controller.config(for: pods[pod].key) else { continue }
            if applyConfig(config, to: pod) { pushed += 1 }
        }
        pendingPushes[index] = []
        if pushed > 0 { record("config pushed to \(pushed) prox\(pushed == 1 ? "y" : "ies")", kind: .configPush) }
    }

    @discardableResult
    func applyConfig(_ config: ProxyConfig, to pod: Int) -> Bool {
        let prepared = preparedConfig(config)
        switch sidecars[pod].apply(prepared.compiled) {
        case .applied:
            pods[pod].identity = config.serviceIdentity
            pods[pod].cachedConfig = config
            meters[pod].configBytes = prepared.bytes
            meters[pod].noteMemory()
            // Connections to endpoints that left, exchanges whose cluster went away.
            perform(sidecars[pod].takeConfigActions(), at: pod)
            return true
        case .rejected(let reason):
            record("config rejected by \(podName(pod)): \(reason)")
            return false
        }
    }

    /// Pods of one proxy group receive the same config: compile and measure it once for all of
    /// them. Keyed by the version (a content hash), and checked for equality so that a hash
    /// collision can never hand a pod someone else's config. The groups of a permissive mesh
    /// share their outbound (the catalog): it is compiled and measured once for all of them.
    func preparedConfig(_ config: ProxyConfig) -> (compiled: PreparedConfig, bytes: Int) {
        if let cached = preparedConfigs[config.version], cached.compiled.config == config { return cached }
        let prepared = (compiled: PreparedConfig(config, sharing: &compiledOutbounds), bytes: config.renderedByteCount)
        // Versions superseded by later pushes are only dropped in bulk, to bound the memory.
        if preparedConfigs.count >= 4096 { preparedConfigs.removeAll() }
        preparedConfigs[config.version] = prepared
        return prepared
    }

    func noteDiagnostics() {
        // The controller keeps its findings sorted; report each new one once.
        for diagnostic in controller.diagnostics where !reportedDiagnostics.contains(diagnostic.text) {
            reportedDiagnostics.insert(diagnostic.text)
            record("controller: \(diagnostic.text)")
        }
    }

    /// Pods created since the last call learn whether the controller meshes them.
    @discardableResult
    func adoptNewPods() -> [Int] {
        var created: [Int] = []
        while adoptedPods < pods.count {
            let pod = adoptedPods
            adoptedPods += 1
            pods[pod].hasSidecar = !outsidePods.contains(pod) && controller.isMeshed(pods[pod].key)
            if pods[pod].hasSidecar { meters[pod].everMeshed = true; meters[pod].noteMemory() } else { startEgressGateway(pod) }
            programOutboundExclusions(pod)
            created.append(pod)
        }
        return created
    }

    // MARK: - Resources

    func upsert(_ resource: Resource) -> [ResourceChange] {
        var changes: [ResourceChange] = []
        let namespace = resource.metadata.namespace
        if resource.kind != .namespace, !namespace.isEmpty, namespaces[namespace] == nil {
            changes += upsertNamespace(Namespace(metadata: ObjectMeta(name: namespace)))
        }
        switch resource {
        case .namespace(let ns):
            changes += upsertNamespace(ns)
        case .service(let service):
            changes.append(.upsert(.service(upsertService(service))))
        case .workload(let workload):
            changes.append(.upsert(resource))
            changes += upsertWorkload(workload)
        case .pod(let pod):
            changes += upsertBarePod(pod)
        case .endpoints(let endpoints):
            endpointsResources[keyText(endpoints.metadata)] = endpoints
            changes.append(.upsert(resource))
        default:
            otherResources[resource.key] = resource
            changes.append(.upsert(resource))
        }
        return changes
    }

    func delete(_ key: ResourceKey) -> [ResourceChange] {
        let text = "\(key.namespace)/\(key.name)"
        switch key.kind {
        case .namespace:
            namespaces[key.name] = nil
        case .service:
            if let index = serviceIndex[text] { removeService(index) }
        case .deployment, .statefulSet, .pod:
            guard let index = deploymentIndex[text] else { break }
            deployments[index].deleted = true
            var changes: [ResourceChange] = [.delete(key)]
            if key.kind == .pod { changes = [] }
            for pod in deployments[index].pods where !pods[pod].removed {
                takeDown(pod, permanently: true)
                changes.append(.delete(ResourceKey(kind: .pod, namespace: key.namespace, name: pods[pod].key.name)))
            }
            deploymentIndex[text] = nil
            return changes
        case .endpoints:
            endpointsResources[text] = nil
        default:
            otherResources[key] = nil
        }
        return [.delete(key)]
    }

    private func upsertNamespace(_ namespace: Namespace) -> [ResourceChange] {
        let ns = ClusterConventions.enrolled(namespace, meshNamespaces: meshNamespaces, meshName: controller.meshName)
        namespaces[ns.metadata.name] = ns
        return [.upsert(.namespace(ns))]
    }

    private func keyText(_ meta: ObjectMeta) -> String { "\(meta.namespace)/\(meta.name)" }

    private func upsertService(_ service: Service) -> Service {
        var service = service
        let key = keyText(service.metadata)
        if let index = serviceIndex[key] {
            // Keep the address Kubernetes gave it.
            service.clusterIP = services[index].headless ? "None" : services[index].ipText
            services[index].resource = service
            return service
        }
        var ip: UInt32 = 0
        if let given = service.clusterIP {
            if given != "None" { ip = IPv4.parse(given) ?? IPv4.service(services.count) }
        } else {
            ip = IPv4.service(services.count)
        }
        service.clusterIP = ip == 0 ? "None" : IPv4.format(ip)
        let index = services.count
        services.append(SimService(resource: service, ip: ip, ipText: ip == 0 ? "None" : IPv4.format(ip)))
        serviceIndex[key] = index
        if ip != 0 { serviceByIP[ip] = index }
        let name = service.metadata.name, ns = service.metadata.namespace
        for host in [ "\(name).\(ns)", "\(name).\(ns).svc", "\(name).\(ns).svc.cluster", "\(name).\(ns).svc.cluster.local"] {
            serviceByHost[host] = index
        }
        return service
    }

    private func removeService(_ index: Int) {
        services[index].deleted = true
        serviceIndex[keyText(services[index].resource.metadata)] = nil
        serviceByIP[services[index].ip] = nil
        serviceByHost = serviceByHost.filter { $0.value != index }
    }

    /// The app model of a Deployment (or bare Pod), with its response body interned for the reports.
    func makeBehavior(deployment: String, template: PodSpec, spec: AppSpec? = nil) -> AppBehavior {
        var behavior = AppBehavior(deployment: deployment, template: template, spec: spec ?? scenario.apps[deployment])
        if let text = behavior.reportedBody {
            if let id = bodyIDs[text] {
                behavior.bodyID = id
            } else {
                behavior.bodyID = Int32(bodyTexts.count)
                bodyIDs[text] = behavior.bodyID
                bodyTexts.append(text)
            }
        }
        return behavior
    }

    private func upsertWorkload(_ workload: Workload) -> [ResourceChange] {
        let key = keyText(workload.metadata)
        let index: Int
        if let existing = deploymentIndex[key] {
            index = existing
            deployments[index].workload = workload
            deployments[index].app = makeBehavior(deployment: workload.metadata.name, template: workload.template.spec)
        } else {
            index = deployments.count
            deployments.append(SimDeployment(
                namespace: workload.metadata.namespace, name: workload.metadata.name, workload: workload,
                app: makeBehavior(deployment: workload.metadata.name, template: workload.template.spec)))
            deploymentIndex[key] = index
        }
        var changes: [ResourceChange] = []
        let replicas = max(0, workload.replicas)
        let ns = workload.metadata.namespace
        for pod in ClusterConventions.pods(of: workload) {
            changes += placePod(pod, deployment: index)
        }
        // Scaled down: the highest ordinals go away.
        for pod in deployments[index].pods where !pods[pod].removed {
            if let ordinal = ClusterConventions.ordinal(ofPod: pods[pod].key.name), ordinal >= replicas {
                takeDown(pod, permanently: true)
                changes.append(.delete(ResourceKey(kind: .pod, namespace: ns, name: pods[pod].key.name)))
            }
        }
        return changes
    }

    private func upsertBarePod(_ pod: Pod) -> [ResourceChange] {
        let key = keyText(pod.metadata)
        let index: Int
        if let existing = deploymentIndex[key] {
            index = existing
        } else {
            index = deployments.count
            deployments.append(SimDeployment(namespace: pod.metadata.namespace, name: pod.metadata.name, workload: nil,
                                             app: makeBehavior(deployment: pod.metadata.name, template: pod.spec)))
            deploymentIndex[key] = index
        }
        return placePod(pod, deployment: index)
    }

    /// Creates the pod, or updates an existing one of the same name (keeping its IP).
    private func placePod(_ template: Pod, deployment: Int) -> [ResourceChange] {
        let key = PodKey(namespace: template.metadata.namespace, name: template.metadata.name)
        if let existing = podIndex[key], !pods[existing].removed {
            var resource = template
            resource.podIP = pods[existing].ipText
            pods[existing].resource = resource
            worldVersion += 1
            return pods[existing].alive ? [.upsert(.pod(resource))] : []
        }
        let index = pods.count
        let ip = IPv4.pod(index)
        var resource = template
        resource.podIP = template.podIP ?? IPv4.format(ip)
        let actualIP = IPv4.parse(resource.podIP!) ?? ip
        let name = key.description
        let behavior = deployments[deployment].app
        pods.append(SimPod(
            key: key, deployment: deployment, resource: resource, ip: actualIP, ipText: IPv4.format(actualIP),
            app: AppState(random: SimRandom(seed: seed, stream: "app:\(name)")),
            responseHeaders: [HTTPHeader(name: "Identity", value: behavior.identity)] + behavior.extraResponseHeaders))
        podIndex[key] = index
        podByIP[actualIP] = index
        pods[index].probeEpoch = now
        sidecars.append(Sidecar())
        sidecarRandom.append(SimRandom(seed: seed, stream: "sidecar:\(name)"))
        meters.append(ProxyMeter())
        podExtraLatency.append(0)
        deployments[deployment].pods.append(index)
        worldVersion += 1
        return [.upsert(.pod(resource))]
    }

    // MARK: - DNS and kube-proxy

    /// Resolves `host` as a client in `namespace` would: service names in their five forms (a bare
    /// name in the client's namespace) to the cluster IP, headless services to a pod IP, IPs as is.
    func resolve(host: String, clientNamespace: String) -> UInt32? {
        if let ip = IPv4.parse(host) { return ip }
        let service = host.contains(".") ? (serviceByHost[host] ?? serviceByHost["\(host).\(clientNamespace)"]) : serviceByHost["\(host).\(clientNamespace)"]
        guard let index = service else { return resolveExternal(host: host) }
        if !services[index].headless { return services[index].ip }
        return serviceEndpoints(index).first.map { pods[$0.pod].ip }
    }

    /// The live pods behind a service with the port each serves `port` on.
    func serviceEndpoints(_ service: Int, port: Int? = nil) -> [(pod: Int, port: Int)] {
        let resource = services[service].resource
        let servicePort = port.flatMap { p in resource.ports.first(where: { $0.port == p }) } ?? resource.ports.first
        func target(_ pod: Int) -> Int {
            guard let servicePort else { return port ?? 80 }
            switch servicePort.targetPort {
            case .int(let value)?: return value
            case .string(let name)?: return pods[pod].resource.containerPortsByName[name] ?? servicePort.port
            case nil: return servicePort.port
            }
        }
        var result: [(pod: Int, port: Int)] = []
        if resource.selector.isEmpty {
            for subset in endpointsResources[keyText(resource.metadata)]?.subsets ?? [] {
                for address in subset.addresses {
                    guard let ip = IPv4.parse(address.ip), let pod = podByIP[ip], pods[pod].alive else { continue }
                    result.append((pod, subset.ports.first?.port ?? target(pod)))
                }
            }
            return result
        }
        for deployment in deployments where !deployment.deleted && deployment.namespace == resource.metadata.namespace {
            for pod in deployment.pods where pods[pod].alive && pods[pod].resource.isReady && labelsMatch(resource.selector, pods[pod].labels) {
                result.append((pod, target(pod)))
            }
        }
        return result
    }

    /// kube-proxy for unmeshed clients: a cluster IP goes to the next live pod behind the service
    /// (round robin); a pod IP goes to that pod.
    func kubeProxyPick(ip: UInt32, port: Int) -> (pod: Int, port: Int)? {
        if let pod = podByIP[ip] { return (pod, port) }
        guard let service = serviceByIP[ip] else { return nil }
        let cacheKey = service << 16 | port
        let endpoints: [(pod: Int, port: Int)]
        if let cached = endpointCache[cacheKey], cached.version == worldVersion {
            endpoints = cached.endpoints
        } else {
            endpoints = serviceEndpoints(service, port: port)
            endpointCache[cacheKey] = (worldVersion, endpoints)
        }
        guard !endpoints.isEmpty else { return nil }
        let pick = endpoints[services[service].nextEndpoint % endpoints.count]
        services[service].nextEndpoint &+= 1
        return pick
    }
}
