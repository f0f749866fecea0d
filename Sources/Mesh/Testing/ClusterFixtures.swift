import MeshControl
import MeshModel

/// Builders for cluster resources and the guides' bookstore cluster, shared by the test suites.
public enum ClusterFixtures {
    public static func namespace(_ name: String, monitored: Bool = true, injection: String? = "enabled", labels: [String: String] = [:]) -> ResourceChange {
        var allLabels = labels
        if monitored { allLabels["flomesh.io/monitored-by"] = "fsm" }
        let annotations = injection.map { ["flomesh.io/sidecar-injection": $0] } ?? [:]
        return .upsert(.namespace(Namespace(metadata: ObjectMeta(name: name, labels: allLabels, annotations: annotations))))
    }

    public static func service(_ name: String, _ namespace: String, port: Int = 14001, targetPort: IntOrString? = nil, appProtocol: AppProtocol = .http,
                        selector: [String: String], clusterIP: String?) -> ResourceChange {
        .upsert(.service(Service(
            metadata: ObjectMeta(name: name, namespace: namespace),
            ports: [ServicePort(name: "port", port: port, targetPort: targetPort, appProtocol: appProtocol)],
            selector: selector, clusterIP: clusterIP
        )))
    }

    public static func pod(_ name: String, _ namespace: String, serviceAccount: String, labels: [String: String], ip: String?,
                    annotations: [String: String] = [:], containerPorts: [ContainerPort] = [], hostNetwork: Bool = false) -> ResourceChange {
        .upsert(.pod(Pod(
            metadata: ObjectMeta(name: name, namespace: namespace, labels: labels, annotations: annotations),
            spec: PodSpec(serviceAccountName: serviceAccount, containers: [Container(name: "app", ports: containerPorts)], hostNetwork: hostNetwork),
            podIP: ip
        )))
    }

    public static func permissive(_ on: Bool = true, retries: Bool = false, egress: Bool = false) -> MeshConfig {
        var config = MeshConfig()
        config.traffic.enablePermissiveTrafficPolicyMode = on
        config.traffic.enableEgress = egress
        config.featureFlags.enableRetryPolicy = retries
        return config
    }

    public static func sa(_ name: String, _ namespace: String) -> IdentityReference {
        IdentityReference(kind: "ServiceAccount", name: name, namespace: namespace)
    }

    public static func trafficTarget(_ name: String, _ namespace: String, destination: IdentityReference, sources: [IdentityReference], rules: [TrafficTargetRule]) -> ResourceChange {
        .upsert(.trafficTarget(TrafficTarget(metadata: ObjectMeta(name: name, namespace: namespace), destination: destination, rules: rules, sources: sources)))
    }

    /// demos.md 1.1 and 1.5: the bookstore apps and the SMI policies of `traffic-access-v1.yaml`.
    public static let bookstoreApps: [ResourceChange] = [
        namespace("bookbuyer"), namespace("bookthief"), namespace("bookstore"), namespace("bookwarehouse"),
        service("bookstore", "bookstore", selector: ["app": "bookstore"], clusterIP: "10.96.0.10"),
        service("bookstore-v1", "bookstore", selector: ["app": "bookstore", "version": "v1"], clusterIP: "10.96.0.11"),
        service("bookwarehouse", "bookwarehouse", selector: ["app": "bookwarehouse"], clusterIP: "10.96.0.20"),
        service("mysql", "bookwarehouse", port: 3306, targetPort: .int(3306), appProtocol: .tcp, selector: ["app": "mysql"], clusterIP: "None"),
        pod("bookbuyer-1", "bookbuyer", serviceAccount: "bookbuyer", labels: ["app": "bookbuyer", "version": "v1"], ip: "10.244.0.2"),
        pod("bookthief-1", "bookthief", serviceAccount: "bookthief", labels: ["app": "bookthief", "version": "v1"], ip: "10.244.0.3"),
        pod("bookstore-1", "bookstore", serviceAccount: "bookstore", labels: ["app": "bookstore", "version": "v1"], ip: "10.244.0.4",
            containerPorts: [ContainerPort(name: "web", containerPort: 14001)]),
        pod("bookwarehouse-1", "bookwarehouse", serviceAccount: "bookwarehouse", labels: ["app": "bookwarehouse", "version": "v1"], ip: "10.244.0.5"),
        pod("mysql-0", "bookwarehouse", serviceAccount: "mysql", labels: ["app": "mysql"], ip: "10.244.0.6",
            containerPorts: [ContainerPort(name: "mysql", containerPort: 3306)]),
    ]

    public static let bookstoreTarget = trafficTarget(
        "bookstore", "bookstore", destination: sa("bookstore", "bookstore"), sources: [sa("bookbuyer", "bookbuyer")],
        rules: [TrafficTargetRule(kind: "HTTPRouteGroup", name: "bookstore-service-routes", matches: ["buy-a-book", "books-bought"])]
    )

    public static let bookstorePolicies: [ResourceChange] = [
        bookstoreTarget,
        .upsert(.httpRouteGroup(HTTPRouteGroup(metadata: ObjectMeta(name: "bookstore-service-routes", namespace: "bookstore"), matches: [
            HTTPMatch(name: "books-bought", pathRegex: "/books-bought", methods: ["GET"], headers: ["user-agent": ".*-http-client/*.*", "client-app": "bookbuyer"]),
            HTTPMatch(name: "buy-a-book", pathRegex: ".*a-book.*new", methods: ["GET"]),
        ]))),
        trafficTarget("bookstore-access-bookwarehouse", "bookwarehouse", destination: sa("bookwarehouse", "bookwarehouse"), sources: [sa("bookstore", "bookstore")],
                      rules: [TrafficTargetRule(kind: "HTTPRouteGroup", name: "bookwarehouse-service-routes", matches: ["restock-books"])]),
        .upsert(.httpRouteGroup(HTTPRouteGroup(metadata: ObjectMeta(name: "bookwarehouse-service-routes", namespace: "bookwarehouse"), matches: [
            HTTPMatch(name: "restock-books", methods: ["POST"]),
        ]))),
        trafficTarget("mysql", "bookwarehouse", destination: sa("mysql", "bookwarehouse"), sources: [sa("bookwarehouse", "bookwarehouse")],
                      rules: [TrafficTargetRule(kind: "TCPRoute", name: "mysql")]),
        .upsert(.tcpRoute(TCPRoute(metadata: ObjectMeta(name: "mysql", namespace: "bookwarehouse"), ports: [3306]))),
    ]

    /// demos.md 1.6: bookstore-v2 with its TrafficTarget.
    public static let bookstoreV2: [ResourceChange] = [
        service("bookstore-v2", "bookstore", selector: ["app": "bookstore", "version": "v2"], clusterIP: "10.96.0.12"),
        pod("bookstore-v2-1", "bookstore", serviceAccount: "bookstore-v2", labels: ["app": "bookstore", "version": "v2"], ip: "10.244.0.7"),
        trafficTarget("bookstore-v2", "bookstore", destination: sa("bookstore-v2", "bookstore"), sources: [sa("bookbuyer", "bookbuyer")],
                      rules: [TrafficTargetRule(kind: "HTTPRouteGroup", name: "bookstore-service-routes", matches: ["buy-a-book", "books-bought"])]),
    ]

    public static func split(_ root: String, backends: [(String, Int)], name: String = "bookstore-split", namespace: String = "bookstore") -> ResourceChange {
        .upsert(.trafficSplit(TrafficSplit(metadata: ObjectMeta(name: name, namespace: namespace), service: root,
                                           backends: backends.map { TrafficSplitBackend(service: $0.0, weight: $0.1) })))
    }
}

extension PodKey {
    public init(_ namespace: String, _ name: String) { self.init(namespace: namespace, name: name) }
}

extension OutboundTrafficMatch {
    /// Names of the clusters this match sends to (HTTP routes or TCP target clusters).
    public var targetClusterNames: [String] {
        (targetClusters ?? []).map(\.name) + httpServiceRouteRules.flatMap { $0.rules.flatMap { $0.targetClusters.map(\.name) } }
    }
}

extension ProxyConfig {
    /// Outbound matches whose route or TCP targets name the service (`ns/svc`), or whose host map names its FQDN.
    public func outboundMatches(to service: String) -> [OutboundTrafficMatch] {
        let parts = service.split(separator: "/")
        let fqdn = "\(parts[1]).\(parts[0]).svc.cluster.local"
        return outbound.trafficMatches.filter { match in
            match.httpServiceRouteRules.contains { $0.service == fqdn } || (match.targetClusters ?? []).contains { $0.name.hasPrefix(service + "|") }
        }
    }

    public func cluster(_ name: String) -> ClusterConfig? { outbound.clustersConfigs.first { $0.name == name } }
}
