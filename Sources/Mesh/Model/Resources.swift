/// Kubernetes, SMI and FSM resources as the mesh reads them.
///
/// Only the fields the mesh acts on are kept. Decoding (with file/line/column errors) lives in
/// `ManifestDecoder`; these types carry no parsing logic so that the controller, the proxy engine
/// and the simulator can build them directly.

/// Where a resource came from, for error messages and `--dump-config`.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

public struct ObjectMeta: Hashable, Sendable {
    public var name: String
    /// Empty for cluster-scoped resources; the decoder fills in the default namespace where one applies.
    public var namespace: String
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(name: String, namespace: String = "", labels: [String: String] = [:], annotations: [String: String] = [:]) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }
}

/// Identifies one resource in a cluster snapshot.
public struct ResourceKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var kind: ResourceKind
    public var namespace: String
    public var name: String

    public init(kind: ResourceKind, namespace: String, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    public static func < (lhs: ResourceKey, rhs: ResourceKey) -> Bool {
        (lhs.kind.rawValue, lhs.namespace, lhs.name) < (rhs.kind.rawValue, rhs.namespace, rhs.name)
    }

    public var description: String { namespace.isEmpty ? "\(kind.rawValue)/\(name)" : "\(kind.rawValue)/\(namespace)/\(name)" }
}

public enum ResourceKind: String, Hashable, Sendable, CaseIterable {
    case namespace = "Namespace"
    case service = "Service"
    case serviceAccount = "ServiceAccount"
    case deployment = "Deployment"
    case statefulSet = "StatefulSet"
    case pod = "Pod"
    case endpoints = "Endpoints"
    case trafficTarget = "TrafficTarget"
    case httpRouteGroup = "HTTPRouteGroup"
    case tcpRoute = "TCPRoute"
    case trafficSplit = "TrafficSplit"
    case meshConfig = "MeshConfig"
    case upstreamTrafficSetting = "UpstreamTrafficSetting"
    case retry = "Retry"
    case accessControl = "AccessControl"
    case egress = "Egress"
    case accessCert = "AccessCert"
    case egressGateway = "EgressGateway"
    case secret = "Secret"
    case ingress = "Ingress"
    case ingressBackend = "IngressBackend"
    case gatewayClass = "GatewayClass"
    case gateway = "Gateway"
    case httpRoute = "HTTPRoute"
    case grpcRoute = "GRPCRoute"
    /// The Gateway API's TCPRoute, apart from SMI's by its group (as `kubectl get tcproutes.gateway.networking.k8s.io`).
    case gatewayTCPRoute = "TCPRoute.gateway.networking.k8s.io"
    case tlsRoute = "TLSRoute"
    case udpRoute = "UDPRoute"
    case rateLimitPolicy = "RateLimitPolicy"
    case accessControlPolicy = "AccessControlPolicy"
    case loadBalancerPolicy = "LoadBalancerPolicy"
    case sessionStickyPolicy = "SessionStickyPolicy"
    case healthCheckPolicy = "HealthCheckPolicy"
    case faultInjectionPolicy = "FaultInjectionPolicy"
    case retryPolicy = "RetryPolicy"
    case upstreamTLSPolicy = "UpstreamTLSPolicy"
    case gatewayTLSPolicy = "GatewayTLSPolicy"
    case circuitBreakingPolicy = "CircuitBreakingPolicy"

    /// The kind of a route of the Gateway API.
    public init(_ routeKind: GatewayRouteKind) {
        switch routeKind {
        case .http: self = .httpRoute
        case .grpc: self = .grpcRoute
        case .tcp: self = .gatewayTCPRoute
        case .tls: self = .tlsRoute
        case .udp: self = .udpRoute
        }
    }

    /// The kind of an FSM Gateway policy.
    public init(_ policyKind: GatewayPolicyKind) {
        switch policyKind {
        case .rateLimit: self = .rateLimitPolicy
        case .accessControl: self = .accessControlPolicy
        case .loadBalancer: self = .loadBalancerPolicy
        case .sessionSticky: self = .sessionStickyPolicy
        case .healthCheck: self = .healthCheckPolicy
        case .faultInjection: self = .faultInjectionPolicy
        case .retry: self = .retryPolicy
        case .upstreamTLS: self = .upstreamTLSPolicy
        case .gatewayTLS: self = .gatewayTLSPolicy
        case .circuitBreaking: self = .circuitBreakingPolicy
        }
    }
}

/// One decoded resource.
public enum Resource: Hashable, Sendable {
    case namespace(Namespace)
    case service(Service)
    case serviceAccount(ServiceAccount)
    /// Deployments and StatefulSets: both stamp out pods from a template.
    case workload(Workload)
    case pod(Pod)
    case endpoints(Endpoints)
    case trafficTarget(TrafficTarget)
    case httpRouteGroup(HTTPRouteGroup)
    case tcpRoute(TCPRoute)
    case trafficSplit(TrafficSplit)
    case meshConfig(MeshConfig)
    case upstreamTrafficSetting(UpstreamTrafficSetting)
    case retry(Retry)
    case secret(Secret)
    case ingress(Ingress)
    case ingressBackend(IngressBackend)
    case gatewayClass(GatewayClass)
    case gateway(Gateway)
    case gatewayRoute(GatewayRoute)
    case gatewayPolicy(GatewayPolicy)
    case accessControl(AccessControl)
    case egress(Egress)
    case accessCert(AccessCert)
    case egressGateway(EgressGateway)

    public var metadata: ObjectMeta {
        switch self {
        case .namespace(let r): r.metadata
        case .service(let r): r.metadata
        case .serviceAccount(let r): r.metadata
        case .workload(let r): r.metadata
        case .pod(let r): r.metadata
        case .endpoints(let r): r.metadata
        case .trafficTarget(let r): r.metadata
        case .httpRouteGroup(let r): r.metadata
        case .tcpRoute(let r): r.metadata
        case .trafficSplit(let r): r.metadata
        case .meshConfig(let r): r.metadata
        case .upstreamTrafficSetting(let r): r.metadata
        case .retry(let r): r.metadata
        case .secret(let r): r.metadata
        case .ingress(let r): r.metadata
        case .ingressBackend(let r): r.metadata
        case .gatewayClass(let r): r.metadata
        case .gateway(let r): r.metadata
        case .gatewayRoute(let r): r.metadata
        case .gatewayPolicy(let r): r.metadata
        case .accessControl(let r): r.metadata
        case .egress(let r): r.metadata
        case .accessCert(let r): r.metadata
        case .egressGateway(let r): r.metadata
        }
    }

    public var kind: ResourceKind {
        switch self {
        case .namespace: .namespace
        case .service: .service
        case .serviceAccount: .serviceAccount
        case .workload(let w): w.kind == .statefulSet ? .statefulSet : .deployment
        case .pod: .pod
        case .endpoints: .endpoints
        case .trafficTarget: .trafficTarget
        case .httpRouteGroup: .httpRouteGroup
        case .tcpRoute: .tcpRoute
        case .trafficSplit: .trafficSplit
        case .meshConfig: .meshConfig
        case .upstreamTrafficSetting: .upstreamTrafficSetting
        case .retry: .retry
        case .secret: .secret
        case .ingress: .ingress
        case .ingressBackend: .ingressBackend
        case .gatewayClass: .gatewayClass
        case .gateway: .gateway
        case .gatewayRoute(let route): ResourceKind(route.kind)
        case .gatewayPolicy(let policy): ResourceKind(policy.kind)
        case .accessControl: .accessControl
        case .egress: .egress
        case .accessCert: .accessCert
        case .egressGateway: .egressGateway
        }
    }

    public var key: ResourceKey { ResourceKey(kind: kind, namespace: metadata.namespace, name: metadata.name) }
}

// MARK: - Kubernetes core

public struct Namespace: Hashable, Sendable {
    public var metadata: ObjectMeta
    public init(metadata: ObjectMeta) { self.metadata = metadata }
}

/// The application protocol of a service port (FSM `appProtocol`).
public enum AppProtocol: String, Hashable, Sendable, CaseIterable {
    case http
    case tcp
    case tcpServerFirst = "tcp-server-first"
    case grpc
}

public enum IntOrString: Hashable, Sendable {
    case int(Int)
    case string(String)
}

public struct ServicePort: Hashable, Sendable {
    public var name: String?
    public var port: Int
    /// Defaults to `port` when absent, like Kubernetes.
    public var targetPort: IntOrString?
    /// Transport protocol (`TCP`, `UDP`); the mesh only intercepts TCP.
    public var transportProtocol: String
    /// Defaults to `http` when absent (see docs/DECISIONS.md).
    public var appProtocol: AppProtocol

    public init(name: String? = nil, port: Int, targetPort: IntOrString? = nil, transportProtocol: String = "TCP", appProtocol: AppProtocol = .http) {
        self.name = name
        self.port = port
        self.targetPort = targetPort
        self.transportProtocol = transportProtocol
        self.appProtocol = appProtocol
    }
}

public struct Service: Hashable, Sendable {
    public var metadata: ObjectMeta
    public var ports: [ServicePort]
    /// Empty selector: endpoints come from an Endpoints object instead of pods.
    public var selector: [String: String]
    /// `None` for headless services; nil when unset (the simulator assigns one).
    public var clusterIP: String?

    public init(metadata: ObjectMeta, ports: [ServicePort] = [], selector: [String: String] = [:], clusterIP: String? = nil) {
        self.metadata = metadata
        self.ports = ports
        self.selector = selector
        self.clusterIP = clusterIP
    }
}

public struct ServiceAccount: Hashable, Sendable {
    public var metadata: ObjectMeta
    public init(metadata: ObjectMeta) { self.metadata = metadata }
}

public struct EnvVar: Hashable, Sendable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

public struct ContainerPort: Hashable, Sendable {
    public var name: String?
    public var containerPort: Int
    public var transportProtocol: String
    public init(name: String? = nil, containerPort: Int, transportProtocol: String = "TCP") {
        self.name = name
        self.containerPort = containerPort
        self.transportProtocol = transportProtocol
    }
}

public struct Container: Hashable, Sendable {
    public var name: String
    public var image: String
    public var command: [String]
    public var args: [String]
    public var ports: [ContainerPort]
    public var env: [EnvVar]

    public init(name: String, image: String = "", command: [String] = [], args: [String] = [], ports: [ContainerPort] = [], env: [EnvVar] = []) {
        self.name = name
        self.image = image
        self.command = command
        self.args = args
        self.ports = ports
        self.env = env
    }
}

public struct PodSpec: Hashable, Sendable {
    /// `default` when absent, like Kubernetes.
    public var serviceAccountName: String
    public var containers: [Container]
    public var hostNetwork: Bool

    public init(serviceAccountName: String = "default", containers: [Container] = [], hostNetwork: Bool = false) {
        self.serviceAccountName = serviceAccountName
        self.containers = containers
        self.hostNetwork = hostNetwork
    }
}

public struct PodTemplate: Hashable, Sendable {
    /// Labels and annotations of the pods (name and namespace are empty).
    public var metadata: ObjectMeta
    public var spec: PodSpec
    public init(metadata: ObjectMeta = ObjectMeta(name: ""), spec: PodSpec = PodSpec()) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// A Deployment or a StatefulSet.
public struct Workload: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        case deployment = "Deployment"
        case statefulSet = "StatefulSet"
    }

    public var kind: Kind
    public var metadata: ObjectMeta
    /// 1 when absent, like Kubernetes.
    public var replicas: Int
    public var selector: [String: String]
    public var template: PodTemplate

    public init(kind: Kind = .deployment, metadata: ObjectMeta, replicas: Int = 1, selector: [String: String] = [:], template: PodTemplate = PodTemplate()) {
        self.kind = kind
        self.metadata = metadata
        self.replicas = replicas
        self.selector = selector
        self.template = template
    }
}

public struct Pod: Hashable, Sendable {
    public var metadata: ObjectMeta
    public var spec: PodSpec
    /// Assigned by whoever runs the pod (the simulator, the kubelet).
    public var podIP: String?
    /// `status.conditions`, set by whoever runs the pod (the kubelet's role: the simulator's probe,
    /// `fsm supervise`); the `Ready` one decides whether the pod serves its services' endpoints.
    public var conditions: [PodCondition]

    public init(metadata: ObjectMeta, spec: PodSpec = PodSpec(), podIP: String? = nil, conditions: [PodCondition] = []) {
        self.metadata = metadata
        self.spec = spec
        self.podIP = podIP
        self.conditions = conditions
    }

    /// Whether the pod is an endpoint of the services that select it: its `Ready` condition is
    /// `True`, or it has none (nothing probes a pod that a manifest declares; a kubelet would set
    /// one at once). `False` and `Unknown` are not ready, as in Kubernetes' EndpointSlices.
    public var isReady: Bool {
        guard let ready = conditions.first(where: { $0.type == PodCondition.ready }) else { return true }
        return ready.status == .true
    }

    /// Sets (or replaces) the `Ready` condition.
    public mutating func setReady(_ ready: Bool) {
        let condition = PodCondition(type: PodCondition.ready, status: ready ? .true : .false)
        if let index = conditions.firstIndex(where: { $0.type == PodCondition.ready }) {
            conditions[index] = condition
        } else {
            conditions.append(condition)
        }
    }
}

/// One entry of a pod's `status.conditions` (type and status; reasons and times are not kept).
public struct PodCondition: Hashable, Sendable {
    public enum Status: String, Hashable, Sendable, CaseIterable {
        case `true` = "True"
        case `false` = "False"
        case unknown = "Unknown"
    }

    public static let ready = "Ready"

    public var type: String
    public var status: Status

    public init(type: String, status: Status) {
        self.type = type
        self.status = status
    }
}

public struct EndpointAddress: Hashable, Sendable {
    public var ip: String
    /// `namespace/name` of the pod behind the address, when known.
    public var podName: String?
    public init(ip: String, podName: String? = nil) {
        self.ip = ip
        self.podName = podName
    }
}

public struct EndpointPort: Hashable, Sendable {
    public var name: String?
    public var port: Int
    public init(name: String? = nil, port: Int) {
        self.name = name
        self.port = port
    }
}

public struct EndpointSubset: Hashable, Sendable {
    public var addresses: [EndpointAddress]
    public var ports: [EndpointPort]
    public init(addresses: [EndpointAddress] = [], ports: [EndpointPort] = []) {
        self.addresses = addresses
        self.ports = ports
    }
}

public struct Endpoints: Hashable, Sendable {
    public var metadata: ObjectMeta
    public var subsets: [EndpointSubset]
    public init(metadata: ObjectMeta, subsets: [EndpointSubset] = []) {
        self.metadata = metadata
        self.subsets = subsets
    }
}

// MARK: - SMI

/// A reference to an identity (`kind: ServiceAccount`) or a route group.
public struct IdentityReference: Hashable, Sendable {
    public var kind: String
    public var name: String
    public var namespace: String
    public init(kind: String = "ServiceAccount", name: String, namespace: String) {
        self.kind = kind
        self.name = name
        self.namespace = namespace
    }
}

public struct TrafficTargetRule: Hashable, Sendable {
    /// `HTTPRouteGroup` or `TCPRoute`.
    public var kind: String
    public var name: String
    /// Names of matches inside an HTTPRouteGroup; empty means all of them.
    public var matches: [String]
    public init(kind: String, name: String, matches: [String] = []) {
        self.kind = kind
        self.name = name
        self.matches = matches
    }
}

/// `access.smi-spec.io/v1alpha3` TrafficTarget.
public struct TrafficTarget: Hashable, Sendable {
    public var metadata: ObjectMeta
    public var destination: IdentityReference
    public var rules: [TrafficTargetRule]
    public var sources: [IdentityReference]
    public init(metadata: ObjectMeta, destination: IdentityReference, rules: [TrafficTargetRule] = [], sources: [IdentityReference] = []) {
        self.metadata = metadata
        self.destination = destination
        self.rules = rules
        self.sources = sources
    }
}

public struct HTTPMatch: Hashable, Sendable {
    public var name: String
    /// Absent means any path (`.*`).
    public var pathRegex: String?
    /// Empty or `*` means any method.
    public var methods: [String]
    /// Header name -> value regex; all must match.
    public var headers: [String: String]
    public init(name: String, pathRegex: String? = nil, methods: [String] = [], headers: [String: String] = [:]) {
        self.name = name
        self.pathRegex = pathRegex
        self.methods = methods
        self.headers = headers
    }
}

/// `specs.smi-spec.io/v1alpha4` HTTPRouteGroup.
public struct HTTPRouteGroup: Hashable, Sendable {
    public var metadata: ObjectMeta
    public var matches: [HTTPMatch]
    public init(metadata: ObjectMeta, matches: [HTTPMatch] = []) {
        self.metadata = metadata
        self.matches = matches
    }
}

/// `specs.smi-spec.io/v1alpha4` TCPRoute.
public struct TCPRoute: Hashable, Sendable {
    public var metadata: ObjectMeta
    /// Empty means every port.
    public var ports: [Int]
    public init(metadata: ObjectMeta, ports: [Int] = []) {
        self.metadata = metadata
        self.ports = ports
    }
}

public struct TrafficSplitBackend: Hashable, Sendable {
    public var service: String
    public var weight: Int
    public init(service: String, weight: Int) {
        self.service = service
        self.weight = weight
    }
}

/// `split.smi-spec.io/v1alpha2|v1alpha4` TrafficSplit.
public struct TrafficSplit: Hashable, Sendable {
    public var metadata: ObjectMeta
    /// The root service in any of its forms: `bookstore`, `bookstore.bookstore`, ... `bookstore.bookstore.svc.cluster.local`.
    public var service: String
    public var backends: [TrafficSplitBackend]
    /// HTTPRouteGroup references (v1alpha4 `matches`); empty applies the split to every request.
    public var matches: [TrafficTargetRule]
    public init(metadata: ObjectMeta, service: String, backends: [TrafficSplitBackend] = [], matches: [TrafficTargetRule] = []) {
        self.metadata = metadata
        self.service = service
        self.backends = backends
        self.matches = matches
    }
}
