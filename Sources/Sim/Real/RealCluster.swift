import MeshControl
import MeshModel
import MeshProxy
import SimCore

/// One pod of a real run: its place in the cluster, its loopback address and its app model.
struct RealPod: Sendable {
    var key: PodKey
    /// The Deployment (or bare Pod) name results are grouped by.
    var deployment: String
    var labels: [String: String]
    var spec: PodSpec
    var ip: String
    /// Ports the app listens on: its container ports and the target ports of the services selecting it.
    var appPorts: [Int]
    /// App ports a service names as raw TCP (`tcp`, `tcp-server-first`): served as a TCP echo when the
    /// app model echoes TCP there, as HTTP otherwise.
    var tcpPorts: Set<Int> = []
    /// Those of `tcpPorts` a service names server-first (`tcp-server-first`): the app speaks first.
    var serverFirstPorts: Set<Int> = []
    var app: AppModelInstance
    /// The Pod as the controller knows it (with its IP), to apply again when it restarts.
    var resource: Pod
    /// The scenario's `apps:` entry (or external host's app): tls-echo's `secret` and `certificateKey`.
    var appSpec: AppSpec? = nil
    /// An external host's DNS name (its public certificate's name when it serves TLS without a Secret).
    var hostName: String? = nil
}

/// The cluster of a real run, built the way the simulator builds its own (SimEngine+World): the
/// scenario's namespaces enrolled in the mesh, services with cluster IPs, Deployments stamped out
/// into pods named `<deployment>-<index>`. Pods get `127.82.<subnet>.<n+1>` instead of 10.244.x.y.
/// Pure: the runner feeds `initialChanges` and the step changes to the controller.
struct RealCluster {
    private(set) var pods: [RealPod] = []
    private(set) var initialChanges: [ResourceChange] = []
    private var serviceCount = 0
    private var namespaces: Set<String> = []
    /// Cluster IPs by `name.namespace` (headless services have none), for `resolve`.
    private var serviceIPs: [String: String] = [:]
    /// The services of the manifests, for `endpoints` (kube-proxy's view).
    private(set) var services: [Service] = []
    /// The `external:` hosts' names → their loopback addresses (what DNS outside the cluster answers).
    private(set) var externalIPs: [String: String] = [:]
    /// The address of each gateway pod (`RealGateways`) by pod name: `fsm-gateway-<ns>` for every
    /// namespace a Gateway is created in (by the manifests or a step), whether or not the
    /// controller programs it, and `fsm-ingress` when an Ingress of class `pipy` is.
    private(set) var gatewayIPs: [String: String] = [:]
    /// Each gateway pod's namespace, by pod name.
    private(set) var gatewayNamespaces: [String: String] = [:]
    /// The egress gateway pods (`RealEgressGateway`) by index, and the port each takes tunnels on.
    private(set) var egressGatewayPorts: [Int: Int] = [:]
    /// The client outside the cluster (`from: external`): no sidecar, not captured, at the
    /// simulator's address (`RealOutsideClient`).
    let externalClientIP = RealOutsideClient.address

    init(scenario: Scenario, seed: UInt64, subnet: Int, meshName: String, controlPlaneNamespace: String = "fsm-system") throws(RealModeError) {
        let meshNamespaces = Set(scenario.mesh.namespaces)
        func addNamespace(_ name: String) {
            guard !name.isEmpty, !namespaces.contains(name) else { return }
            namespaces.insert(name)
            let ns = ClusterConventions.enrolled(Namespace(metadata: ObjectMeta(name: name)), meshNamespaces: meshNamespaces, meshName: meshName)
            initialChanges.append(.upsert(.namespace(ns)))
        }
        for name in scenario.mesh.namespaces { addNamespace(name) }
        var placed: [(pod: Pod, deployment: String)] = []
        for resource in scenario.manifests {
            if resource.kind != .namespace { addNamespace(resource.metadata.namespace) }
            switch resource {
            case .namespace(let ns):
                namespaces.insert(ns.metadata.name)
                initialChanges.append(.upsert(.namespace(ClusterConventions.enrolled(ns, meshNamespaces: meshNamespaces, meshName: meshName))))
            case .service(var service):
                if service.clusterIP == nil {
                    service.clusterIP = AddressPlan.format(AddressPlan.simulator.serviceAddress(serviceCount))
                }
                serviceCount += 1
                if let ip = service.clusterIP, ip != "None" { serviceIPs["\(service.metadata.name).\(service.metadata.namespace)"] = ip }
                services.append(service)
                initialChanges.append(.upsert(.service(service)))
            case .workload(let workload):
                initialChanges.append(.upsert(resource))
                for pod in ClusterConventions.pods(of: workload) { placed.append((pod, workload.metadata.name)) }
            case .pod(let pod):
                placed.append((pod, pod.metadata.name))
            default:
                initialChanges.append(.upsert(resource))
            }
        }
        let gatewayPods = RealCluster.gatewayPods(scenario, controlPlaneNamespace: controlPlaneNamespace)
        guard placed.count + scenario.externalHosts.count + gatewayPods.count <= 250 else {
            throw .unsupported("more than 250 pods, gateway pods and external hosts (one loopback /24 per run)")
        }
        for (index, entry) in placed.enumerated() {
            var pod = entry.pod
            let ip = "127.82.\(subnet).\(index + 1)"
            pod.podIP = ip
            initialChanges.append(.upsert(.pod(pod)))
            let key = PodKey(namespace: pod.metadata.namespace, name: pod.metadata.name)
            var ports = Set(pod.spec.containers.flatMap(\.ports).map(\.containerPort))
            var tcpPorts: Set<Int> = []
            var serverFirstPorts: Set<Int> = []
            for service in services where service.metadata.namespace == key.namespace && !service.selector.isEmpty
                && service.selector.allSatisfy({ pod.metadata.labels[$0.key] == $0.value }) {
                for port in service.ports {
                    var target: Int?
                    switch port.targetPort {
                    case .int(let value)?: target = value
                    case .string(let name)?: target = pod.spec.containers.flatMap(\.ports).first(where: { $0.name == name })?.containerPort
                    case nil: target = port.port
                    }
                    guard let target else { continue }
                    ports.insert(target)
                    if port.appProtocol == .tcp || port.appProtocol == .tcpServerFirst { tcpPorts.insert(target) }
                    if port.appProtocol == .tcpServerFirst { serverFirstPorts.insert(target) }
                }
            }
            let app = AppModelInstance(deployment: entry.deployment, template: pod.spec, spec: scenario.apps[entry.deployment],
                                       seed: seed, podName: key.description)
            pods.append(RealPod(key: key, deployment: entry.deployment, labels: pod.metadata.labels, spec: pod.spec, ip: ip,
                                appPorts: ports.sorted(), tcpPorts: tcpPorts, serverFirstPorts: serverFirstPorts, app: app, resource: pod,
                                appSpec: scenario.apps[entry.deployment]))
        }
        placeEgressGateways(scenario)
        placeExternalHosts(scenario, seed: seed, subnet: subnet)
        placeOutside(gatewayPods: gatewayPods, subnet: subnet)
    }

    /// The pods behind the Services the scenario's EgressGateways name run the egress gateway on
    /// the target port of the Service's first port (what the controller tells the sidecars), and
    /// no app: the gateway is their container.
    private mutating func placeEgressGateways(_ scenario: Scenario) {
        for name in scenario.egressGatewayServices.sorted() {
            let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let service = services.first(where: { $0.metadata.namespace == parts[0] && $0.metadata.name == parts[1] }),
                  let port = service.ports.first else { continue }
            for endpoint in endpoints(host: "\(parts[1]).\(parts[0])", port: port.port, clientNamespace: parts[0])
            where egressGatewayPorts[endpoint.pod] == nil {
                egressGatewayPorts[endpoint.pod] = endpoint.port
                pods[endpoint.pod].appPorts = []
            }
        }
    }

    /// The `external:` hosts, after the pods on the run's /24: each serves its app model on its
    /// ports at a loopback address of its own (its scenario `ip` is the simulator's), raw TCP on
    /// the ports a `tcp://` load names; the controller never sees them.
    private mutating func placeExternalHosts(_ scenario: Scenario, seed: UInt64, subnet: Int) {
        var tcpTargets: [String: Set<Int>] = [:]
        for step in scenario.steps {
            guard case .load(let load) = step.action, let url = try? LoadURL(parsing: load.url), url.isTCP else { continue }
            tcpTargets[url.host.lowercased(), default: []].insert(url.port)
        }
        for host in scenario.externalHosts {
            let ip = "127.82.\(subnet).\(pods.count + 1)"
            externalIPs[host.host] = ip
            let key = PodKey(namespace: RealCluster.externalNamespace, name: host.name)
            let resource = Pod(metadata: ObjectMeta(name: host.name, namespace: RealCluster.externalNamespace), podIP: ip)
            let app = AppModelInstance(deployment: host.name, template: PodSpec(), spec: host.app, seed: seed, podName: key.description)
            pods.append(RealPod(key: key, deployment: host.name, labels: [:], spec: PodSpec(), ip: ip, appPorts: host.ports.sorted(),
                                tcpPorts: Set(host.ports).intersection(tcpTargets[host.host] ?? []), app: app, resource: resource,
                                appSpec: host.app, hostName: host.host))
        }
    }

    /// The gateway pods' addresses, after the external hosts.
    private mutating func placeOutside(gatewayPods: [(name: String, namespace: String)], subnet: Int) {
        for (offset, pod) in gatewayPods.enumerated() {
            gatewayIPs[pod.name] = "127.82.\(subnet).\(pods.count + 1 + offset)"
            gatewayNamespaces[pod.name] = pod.namespace
        }
    }

    static let externalNamespace = "external"

    /// kube-proxy for the sidecars' passthrough: each service address (cluster IP and port) → its
    /// first endpoint, a meshed pod's inbound listener (`inboundPort`) or an unmeshed pod's app port.
    func serviceAddresses(inboundPort: Int, isMeshed: (PodKey) -> Bool) -> [SocketAddress: SocketAddress] {
        var table: [SocketAddress: SocketAddress] = [:]
        for service in services {
            guard let ip = service.clusterIP, ip != "None" else { continue }
            for port in service.ports {
                guard let endpoint = endpoints(host: "\(service.metadata.name).\(service.metadata.namespace)", port: port.port,
                                               clientNamespace: service.metadata.namespace).first else { continue }
                let pod = pods[endpoint.pod]
                table[SocketAddress(ip: ip, port: port.port)] = SocketAddress(ip: pod.ip, port: isMeshed(pod.key) ? inboundPort : endpoint.port)
            }
        }
        return table
    }

    /// What DNS gives an app in `clientNamespace` for `host`, as the simulator resolves it: a
    /// service name in any of its forms (`name`, `name.ns`, `name.ns.svc[.cluster[.local]]`) to
    /// its cluster IP; nil for anything else (an IP, an unknown or headless name).
    func resolve(host: String, clientNamespace: String) -> String? {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        let suffixes: [[Substring]] = [["svc", "cluster", "local"], ["svc", "cluster"], ["svc"], []]
        if parts.count == 1 { return serviceIPs["\(host).\(clientNamespace)"] }
        for suffix in suffixes where parts.count == 2 + suffix.count && Array(parts.suffix(suffix.count)) == suffix {
            if let ip = serviceIPs["\(parts[0]).\(parts[1])"] { return ip }
        }
        // No Service answers the name: DNS outside the cluster (an external host's).
        return externalIPs[host.lowercased()]
    }

    /// Whether the service port `host:port` names is server-first (`tcp-server-first`): its app
    /// speaks first, and a client reads before it writes.
    func speaksFirst(host: String, port: Int, clientNamespace: String) -> Bool {
        guard let ip = resolve(host: host, clientNamespace: clientNamespace),
              let service = services.first(where: { $0.clusterIP == ip }) else { return false }
        return service.ports.first(where: { $0.port == port })?.appProtocol == .tcpServerFirst
    }

    /// kube-proxy for a client without a sidecar: the pods behind a service name (in its forms)
    /// and port, each with the target port its app serves it on, in pod order.
    func endpoints(host: String, port: Int, clientNamespace: String) -> [(pod: Int, port: Int)] {
        guard let ip = resolve(host: host, clientNamespace: clientNamespace),
              let service = services.first(where: { $0.clusterIP == ip }),
              let servicePort = service.ports.first(where: { $0.port == port }) else { return [] }
        return pods.indices.compactMap { index -> (pod: Int, port: Int)? in
            let pod = pods[index]
            guard pod.key.namespace == service.metadata.namespace, !service.selector.isEmpty,
                  service.selector.allSatisfy({ pod.labels[$0.key] == $0.value }) else { return nil }
            switch servicePort.targetPort {
            case .int(let value)?: return (index, value)
            case .string(let name)?: return pod.spec.containers.flatMap(\.ports).first(where: { $0.name == name }).map { (index, $0.containerPort) }
            case nil: return (index, servicePort.port)
            }
        }
    }

    /// The pod a load leaves from: `namespace/deployment` (its first pod) or `namespace/pod`.
    func pod(from selector: String) -> Int? {
        if let index = pods.firstIndex(where: { "\($0.key.namespace)/\($0.deployment)" == selector }) { return index }
        return pods.firstIndex(where: { $0.key.description == selector })
    }

    /// Pods a fault names: `namespace/deployment` (every pod) or `namespace/pod`.
    func pods(target: String) -> [Int] {
        pods.indices.filter { "\(pods[$0].key.namespace)/\(pods[$0].deployment)" == target || pods[$0].key.description == target }
    }
}
