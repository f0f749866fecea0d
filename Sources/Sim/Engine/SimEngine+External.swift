import MeshControl
import MeshModel
import MeshProxy

/// Outside the cluster: the `external:` hosts (each a pod of its own with its app model, at its
/// own address, unknown to the controller, never meshed) and the `from: external` client (no
/// sidecar, no namespace, at `LoadSpec.externalClientIP`). Their results are counted like a
/// Deployment's, under the host's key (`external` for the client).
extension SimEngine {
    static let externalNamespace = "external"

    func buildOutsideWorld() {
        for host in scenario.externalHosts {
            let address = IPv4.parse(host.ip) ?? 0
            var behavior = makeBehavior(deployment: host.name, template: PodSpec(), spec: host.app)
            behavior.publicHost = host.host
            let pod = placeOutsidePod(name: host.name, ip: address, behavior: behavior)
            externalHostByName[host.host] = pod
            externalPorts[pod] = Set(host.ports)
        }
        if scenario.steps.contains(where: { if case .load(let load) = $0.action { load.isExternal } else { false } }) {
            externalClient = placeOutsidePod(name: LoadSpec.external, ip: IPv4.parse(LoadSpec.externalClientIP) ?? 0,
                                             behavior: makeBehavior(deployment: LoadSpec.external, template: PodSpec(), spec: AppSpec(model: .none)))
        }
    }

    /// A pod the controller never sees (an external host, the external client, a gateway pod).
    func placeOutsidePod(name: String, namespace: String = SimEngine.externalNamespace, ip: UInt32, behavior: AppBehavior) -> Int {
        let deployment = deployments.count
        deployments.append(SimDeployment(namespace: namespace, name: name, workload: nil, app: behavior))
        let index = pods.count
        let key = PodKey(namespace: namespace, name: name)
        pods.append(SimPod(
            key: key, deployment: deployment, resource: Pod(metadata: ObjectMeta(name: name, namespace: namespace), podIP: IPv4.format(ip)),
            ip: ip, ipText: IPv4.format(ip), app: AppState(random: SimRandom(seed: seed, stream: "app:\(key)")),
            responseHeaders: [HTTPHeader(name: "Identity", value: behavior.identity)] + behavior.extraResponseHeaders))
        podByIP[ip] = index
        sidecars.append(Sidecar())
        sidecarRandom.append(SimRandom(seed: seed, stream: "sidecar:\(key)"))
        meters.append(ProxyMeter())
        podExtraLatency.append(0)
        deployments[deployment].pods.append(index)
        // Never offered to the controller: it stays unmeshed.
        outsidePods.insert(index)
        return index
    }

    /// DNS outside the cluster (for the `external` client): external hosts by name, addresses as
    /// they are. Cluster names do not resolve from outside (Services of type LoadBalancer, which
    /// would, come with the Gateway model: MeshModel's Service has no `type` yet).
    func resolveFromOutside(host: String) -> UInt32? {
        if let ip = IPv4.parse(host) { return ip }
        if let gateway = gatewayPod(serving: host) { return pods[gateway].ip }
        return externalHostByName[host].map { pods[$0].ip }
    }

    /// Whether something accepts connections on the pod's `port`: its app model listens, and an
    /// external host only on its `ports`.
    func appListens(_ pod: Int, port: Int) -> Bool {
        deployments[pods[pod].deployment].app.listens && (externalPorts[pod]?.contains(port) ?? true)
    }

    /// An external host's name for a client inside the cluster (after cluster DNS found nothing).
    func resolveExternal(host: String) -> UInt32? {
        externalHostByName[host].map { pods[$0].ip }
    }
}
