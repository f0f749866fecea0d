/// FSM policy resources: MeshConfig (`config.flomesh.io`), UpstreamTrafficSetting and Retry
/// (`policy.flomesh.io/v1alpha1`). Defaults are the guides' (see the inventories).

/// The mesh-wide configuration (`fsm-mesh-config` in `fsm-system`). Every key of the guide's table
/// with its default; the tracing defaults follow the corrected reading (docs/DECISIONS.md).
public struct MeshConfig: Hashable, Sendable {
    public struct Traffic: Hashable, Sendable {
        public var enableEgress = false
        public var enablePermissiveTrafficPolicyMode = false
        public var useHTTPSIngress = false
        public var outboundPortExclusionList: [Int] = []
        public var outboundIPRangeExclusionList: [String] = []
        public var outboundIPRangeInclusionList: [String] = []
        public var inboundPortExclusionList: [Int] = []
        /// How injected pods' traffic reaches their sidecar (`spec.traffic.interceptionMode`).
        public var interceptionMode: TrafficInterceptionMode = .iptables
        public init() {}
    }

    public struct Certificate: Hashable, Sendable {
        public var serviceCertValidityDuration: MeshDuration = .hours(24)
        public init() {}
    }

    public struct Tracing: Hashable, Sendable {
        public var enable = false
        public var address = "jaeger.fsm-system.svc.cluster.local"
        public var endpoint = "/api/v2/spans"
        public var port = 9411
        /// The share of new traces the first sidecar samples (0 to 1).
        public var sampledFraction: Double = 1
        public init() {}
    }

    /// `spec.observability.remoteLogging`: FSM's per-request logging from the sidecars. Here
    /// `enable` turns each sidecar's access log on (JSON lines; DECISIONS 120); the collector
    /// fields are read and kept for a remote sink, which is not built.
    public struct RemoteLogging: Hashable, Sendable {
        public var enable = false
        public var address = ""
        public var port = 0
        public var endpoint = ""
        public var authorization = ""
        /// 0 … 1 (FSM writes it as a string: both are read).
        public var sampledFraction: Double = 1
        public init() {}
    }

    public struct Observability: Hashable, Sendable {
        public var enableDebugServer = false
        public var tracing = Tracing()
        public var remoteLogging = RemoteLogging()
        public init() {}
    }

    public struct Sidecar: Hashable, Sendable {
        public var enablePrivilegedInitContainer = false
        public var logLevel = "error"
        public var maxDataPlaneConnections = 0
        public var configResyncInterval: MeshDuration = .zero
        /// The image of the injected containers (it holds the `fsm` binary); empty: the
        /// injector's own image (docs/DECISIONS.md).
        public var sidecarImage = ""
        /// Requests and limits of the injected sidecar container.
        public var resources = ResourceRequirements()
        public init() {}
    }

    public struct FeatureFlags: Hashable, Sendable {
        public var enableEgressPolicy = true
        public var enableAccessControlPolicy = true
        public var enableRetryPolicy = false
        public var enablePluginPolicy = false
        /// AccessCert: the controller issues certificates for clients outside the mesh (FSM: off by default).
        public var enableAccessCertPolicy = false
        public init() {}
    }

    public var metadata: ObjectMeta
    public var traffic = Traffic()
    public var certificate = Certificate()
    public var observability = Observability()
    public var sidecar = Sidecar()
    public var featureFlags = FeatureFlags()

    public init(metadata: ObjectMeta = ObjectMeta(name: "fsm-mesh-config", namespace: "fsm-system")) {
        self.metadata = metadata
    }
}

/// A container's resource `requests` and `limits` (Kubernetes quantities as written: `100m`,
/// `64Mi`, `1`), keyed by resource name (`cpu`, `memory`, ...).
public struct ResourceRequirements: Hashable, Sendable {
    public var limits: [String: String]
    public var requests: [String: String]

    public init(limits: [String: String] = [:], requests: [String: String] = [:]) {
        self.limits = limits
        self.requests = requests
    }

    public var isEmpty: Bool { limits.isEmpty && requests.isEmpty }
}

/// `second`, `minute` or `hour`: the refill period of a local rate limit.
public enum RateLimitUnit: String, Hashable, Sendable, CaseIterable {
    case second, minute, hour

    public var period: MeshDuration {
        switch self {
        case .second: .seconds(1)
        case .minute: .seconds(60)
        case .hour: .seconds(3600)
        }
    }
}

public struct HeaderValue: Hashable, Sendable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// `rateLimit.local.tcp`: new connections per unit; a connection that finds no token is closed.
public struct TCPLocalRateLimit: Hashable, Sendable {
    public var connections: Int
    public var unit: RateLimitUnit
    /// Bucket capacity when set; otherwise the capacity is `connections`.
    public var burst: Int?
    public init(connections: Int, unit: RateLimitUnit, burst: Int? = nil) {
        self.connections = connections
        self.unit = unit
        self.burst = burst
    }
}

/// `rateLimit.local.http` (and a route's `rateLimit.local`).
public struct HTTPLocalRateLimit: Hashable, Sendable {
    public var requests: Int
    public var unit: RateLimitUnit
    public var burst: Int?
    /// 400...599, default 429.
    public var responseStatusCode: Int
    public var responseHeadersToAdd: [HeaderValue]
    public init(requests: Int, unit: RateLimitUnit, burst: Int? = nil, responseStatusCode: Int = 429, responseHeadersToAdd: [HeaderValue] = []) {
        self.requests = requests
        self.unit = unit
        self.burst = burst
        self.responseStatusCode = responseStatusCode
        self.responseHeadersToAdd = responseHeadersToAdd
    }
}

public struct LocalRateLimit: Hashable, Sendable {
    public var tcp: TCPLocalRateLimit?
    public var http: HTTPLocalRateLimit?
    public init(tcp: TCPLocalRateLimit? = nil, http: HTTPLocalRateLimit? = nil) {
        self.tcp = tcp
        self.http = http
    }
}

public struct HTTPRouteRateLimit: Hashable, Sendable {
    /// A path regex that must match a route already allowed by policy.
    public var path: String
    public var rateLimit: HTTPLocalRateLimit
    public init(path: String, rateLimit: HTTPLocalRateLimit) {
        self.path = path
        self.rateLimit = rateLimit
    }
}

/// FSM's error/slow circuit breaker (`connectionSettings.http.circuitBreaking`), Pipy defaults.
public struct CircuitBreaking: Hashable, Sendable {
    public var statTimeWindow: MeshDuration = .seconds(30)
    public var minRequestAmount = 100
    public var degradedTimeWindow: MeshDuration = .seconds(30)
    public var slowTimeThreshold: MeshDuration = .seconds(5)
    public var slowAmountThreshold: Int?
    public var slowRatioThreshold: Double?
    public var errorAmountThreshold: Int?
    public var errorRatioThreshold: Double?
    public var degradedStatusCode = 409
    public var degradedResponseContent = "Coming soon ..."
    public init() {}
}

public struct ConnectionSettings: Hashable, Sendable {
    public static let unlimited = 4_294_967_295
    /// FSM's `sidecarTimeout` (its sidecars' read timeout), not Envoy's 15 s: the guide's retry
    /// demo (5 retries, 1 s backoff base) takes up to 31 s (DECISIONS 81).
    public static let defaultRequestTimeout: MeshDuration = .seconds(60)

    public struct TCP: Hashable, Sendable {
        public var maxConnections = ConnectionSettings.unlimited
        public var connectTimeout: MeshDuration = .seconds(5)
        public init() {}
    }

    public struct HTTP: Hashable, Sendable {
        public var maxRequests = ConnectionSettings.unlimited
        /// nil: unlimited.
        public var maxRequestsPerConnection: Int?
        public var maxPendingRequests = ConnectionSettings.unlimited
        public var maxRetries = ConnectionSettings.unlimited
        public var circuitBreaking: CircuitBreaking?
        /// The route timeout of requests to the cluster: an answer must come within this time of
        /// the request, retries included, or the app gets 504 (Envoy's route `timeout`; 60 s by
        /// default, FSM's `sidecarTimeout`; zero disables it). Only a proxy config sets it
        /// (`RequestTimeout`): FSM's UpstreamTrafficSetting names no route timeout.
        public var requestTimeout: MeshDuration = ConnectionSettings.defaultRequestTimeout
        public init() {}
    }

    public var tcp = TCP()
    public var http = HTTP()
    public init() {}
}

/// `policy.flomesh.io/v1alpha1` UpstreamTrafficSetting. Lives in the upstream service's namespace.
public struct UpstreamTrafficSetting: Hashable, Sendable {
    public var metadata: ObjectMeta
    /// `<svc>.<ns>.svc.cluster.local`, or a bare service name in the resource's namespace.
    public var host: String
    public var connectionSettings: ConnectionSettings?
    public var rateLimit: LocalRateLimit?
    public var httpRoutes: [HTTPRouteRateLimit]

    public init(metadata: ObjectMeta, host: String, connectionSettings: ConnectionSettings? = nil, rateLimit: LocalRateLimit? = nil, httpRoutes: [HTTPRouteRateLimit] = []) {
        self.metadata = metadata
        self.host = host
        self.connectionSettings = connectionSettings
        self.rateLimit = rateLimit
        self.httpRoutes = httpRoutes
    }
}

public struct RetryPolicy: Hashable, Sendable {
    /// Comma list: `5xx`, `4xx`, `retriable-4xx` (409), or single codes.
    public var retryOn: String
    /// nil: the route timeout.
    public var perTryTimeout: MeshDuration?
    public var numRetries: Int
    public var retryBackoffBaseInterval: MeshDuration

    public init(retryOn: String = "5xx", perTryTimeout: MeshDuration? = nil, numRetries: Int = 1, retryBackoffBaseInterval: MeshDuration = .milliseconds(25)) {
        self.retryOn = retryOn
        self.perTryTimeout = perTryTimeout
        self.numRetries = numRetries
        self.retryBackoffBaseInterval = retryBackoffBaseInterval
    }
}

/// `policy.flomesh.io/v1alpha1` Retry: from a source ServiceAccount to destination Services.
public struct Retry: Hashable, Sendable {
    public var metadata: ObjectMeta
    public var source: IdentityReference
    /// `kind: Service` references.
    public var destinations: [IdentityReference]
    public var retryPolicy: RetryPolicy

    public init(metadata: ObjectMeta, source: IdentityReference, destinations: [IdentityReference] = [], retryPolicy: RetryPolicy = RetryPolicy()) {
        self.metadata = metadata
        self.source = source
        self.destinations = destinations
        self.retryPolicy = retryPolicy
    }
}

/// MeshConfig's `spec.traffic.interceptionMode` (guides 3.2.2): an init container's iptables rules
/// per pod, or the node's `fsm interceptor` (eBPF), which needs no init container.
public enum TrafficInterceptionMode: String, CaseIterable, Hashable, Sendable {
    case iptables, ebpf
}
