import MeshControl
import MeshModel

/// A deterministic synthetic cluster for the control-plane benchmark.
///
/// Services `svc-<i>` (one HTTP port 8080, selector `app: svc-<i>`, a cluster IP) live 100 to a
/// namespace `ns-<k>` (monitored, sidecar injection on); each has `podsPerService` pods running as
/// its own ServiceAccount `sa-svc-<i>`. Every namespace also has `clientsPerNamespace` client pods,
/// each with its own ServiceAccount, selected by no service. In SMI mode every tenth service
/// (`i % 10 == 0`) gets a TrafficTarget (sources: the client of its slot and service `i + 3`) with an
/// HTTPRouteGroup, and a TrafficSplit of its root onto services `i + 1` (90) and `i + 2` (10).
struct ClusterGenerator {
    enum Mode: String, CaseIterable {
        case smi
        case permissive
    }

    static let clientsPerNamespace = 10
    static let servicesPerNamespace = 100

    let services: Int
    let podsPerService: Int
    let mode: Mode

    var namespaceCount: Int { max(1, (services + Self.servicesPerNamespace - 1) / Self.servicesPerNamespace) }

    func namespace(ofService i: Int) -> String { "ns-\(i / Self.servicesPerNamespace)" }
    func serviceName(_ i: Int) -> String { "svc-\(i)" }
    func serviceAccount(ofService i: Int) -> String { "sa-svc-\(i)" }
    func podName(service i: Int, replica j: Int) -> String { "svc-\(i)-\(j)" }

    /// 10.(1 + n / 65536).(n / 256 % 256).(n % 256): unique for up to 16 million pods.
    static func podIP(_ n: Int) -> String { "10.\(1 + n / 65_536).\(n / 256 % 256).\(n % 256)" }
    static func clusterIP(_ i: Int) -> String { "172.\(16 + i / 65_536).\(i / 256 % 256).\(i % 256)" }

    var meshConfig: MeshConfig {
        var config = MeshConfig()
        config.traffic.enablePermissiveTrafficPolicyMode = mode == .permissive
        return config
    }

    /// Services carrying SMI policies and a split (SMI mode): every tenth whose split backends
    /// (`i + 1`, `i + 2`) and extra source (`i + 3`) exist in the same namespace.
    func hasPolicies(_ i: Int) -> Bool {
        mode == .smi && i % 10 == 0 && i + 3 < services && namespace(ofService: i) == namespace(ofService: i + 3)
    }

    /// Every resource of the cluster, namespaces first.
    func resources() -> [ResourceChange] {
        var changes: [ResourceChange] = [.upsert(.meshConfig(meshConfig))]
        for k in 0..<namespaceCount {
            changes.append(.upsert(.namespace(Namespace(metadata: ObjectMeta(
                name: "ns-\(k)", labels: ["flomesh.io/monitored-by": "fsm"], annotations: ["flomesh.io/sidecar-injection": "enabled"]
            )))))
            for c in 0..<Self.clientsPerNamespace {
                let account = "client-\(c)"
                changes.append(.upsert(.serviceAccount(ServiceAccount(metadata: ObjectMeta(name: account, namespace: "ns-\(k)")))))
                changes.append(.upsert(.pod(pod(name: "client-\(c)", namespace: "ns-\(k)", account: account,
                                                labels: ["app": "client", "client": "\(c)"], ip: Self.podIP(services * podsPerService + k * Self.clientsPerNamespace + c)))))
            }
        }
        for i in 0..<services {
            let ns = namespace(ofService: i)
            changes.append(.upsert(.serviceAccount(ServiceAccount(metadata: ObjectMeta(name: serviceAccount(ofService: i), namespace: ns)))))
            changes.append(.upsert(.service(Service(
                metadata: ObjectMeta(name: serviceName(i), namespace: ns),
                ports: [ServicePort(name: "http", port: 8080, targetPort: .int(8080), appProtocol: .http)],
                selector: ["app": serviceName(i)], clusterIP: Self.clusterIP(i)
            ))))
            for j in 0..<podsPerService {
                changes.append(.upsert(.pod(pod(name: podName(service: i, replica: j), namespace: ns, account: serviceAccount(ofService: i),
                                                labels: ["app": serviceName(i), "version": "v1"], ip: Self.podIP(i * podsPerService + j)))))
            }
        }
        for i in 0..<services where hasPolicies(i) {
            changes += policies(forService: i, extraSources: [])
        }
        return changes
    }

    func pod(name: String, namespace: String, account: String, labels: [String: String], ip: String) -> Pod {
        Pod(metadata: ObjectMeta(name: name, namespace: namespace, labels: labels),
            spec: PodSpec(serviceAccountName: account, containers: [Container(name: "app", ports: [ContainerPort(name: "http", containerPort: 8080)])]),
            podIP: ip)
    }

    /// The TrafficTarget, HTTPRouteGroup and TrafficSplit of policy service `i`.
    func policies(forService i: Int, extraSources: [IdentityReference]) -> [ResourceChange] {
        let ns = namespace(ofService: i)
        let client = "client-\(i / 10 % Self.clientsPerNamespace)"
        return [
            trafficTarget(forService: i, sources: [
                IdentityReference(name: client, namespace: ns),
                IdentityReference(name: serviceAccount(ofService: i + 3), namespace: ns),
            ] + extraSources),
            .upsert(.httpRouteGroup(HTTPRouteGroup(metadata: ObjectMeta(name: "\(serviceName(i))-routes", namespace: ns), matches: [
                HTTPMatch(name: "read", pathRegex: "/api/.*", methods: ["GET"]),
                HTTPMatch(name: "order", pathRegex: "/api/orders", methods: ["POST"], headers: ["x-client": ".*"]),
            ]))),
            split(root: i, weights: (90, 10)),
        ]
    }

    func trafficTarget(forService i: Int, sources: [IdentityReference]) -> ResourceChange {
        let ns = namespace(ofService: i)
        return .upsert(.trafficTarget(TrafficTarget(
            metadata: ObjectMeta(name: serviceName(i), namespace: ns),
            destination: IdentityReference(name: serviceAccount(ofService: i), namespace: ns),
            rules: [TrafficTargetRule(kind: "HTTPRouteGroup", name: "\(serviceName(i))-routes")],
            sources: sources
        )))
    }

    func split(root i: Int, weights: (Int, Int)) -> ResourceChange {
        let ns = namespace(ofService: i)
        return .upsert(.trafficSplit(TrafficSplit(
            metadata: ObjectMeta(name: "\(serviceName(i))-split", namespace: ns),
            service: "\(serviceName(i)).\(ns).svc.cluster.local",
            backends: [TrafficSplitBackend(service: serviceName(i + 1), weight: weights.0),
                       TrafficSplitBackend(service: serviceName(i + 2), weight: weights.1)]
        )))
    }

    /// One endpoint change: the first pod of a service near the middle gets a new IP. In SMI mode it
    /// is the first split backend of a policy service, so that some clients see the change.
    func endpointChange(round: Int = 0) -> ResourceChange {
        let i = services / 2 / 10 * 10 + 1
        return .upsert(.pod(pod(name: podName(service: i, replica: 0), namespace: namespace(ofService: i), account: serviceAccount(ofService: i),
                                labels: ["app": serviceName(i), "version": "v1"], ip: Self.podIP(services * podsPerService + namespaceCount * Self.clientsPerNamespace + 1 + round))))
    }

    /// One policy change. SMI: service 0's TrafficTarget gains a source (the client in slot 1).
    /// Permissive (access policies do not apply): a TrafficSplit of service 0 onto services 1 and 2 appears.
    func policyChange() -> ResourceChange {
        switch mode {
        case .smi:
            let ns = namespace(ofService: 0)
            return trafficTarget(forService: 0, sources: [
                IdentityReference(name: "client-0", namespace: ns),
                IdentityReference(name: serviceAccount(ofService: 3), namespace: ns),
                IdentityReference(name: "client-1", namespace: ns),
            ])
        case .permissive:
            return split(root: 0, weights: (50, 50))
        }
    }
}
