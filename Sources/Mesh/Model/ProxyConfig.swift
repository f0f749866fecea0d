/// The configuration the controller computes for one proxy, in the shape the guides show for
/// FSM's Pipy sidecars (`fsm proxy get config_dump`): `Inbound`/`Outbound` `TrafficMatches`,
/// `HttpHostPort2Service`, `HttpServiceRouteRules`, `TargetClusters`, `ClustersConfigs`.
///
/// Collections are ordered arrays, not dictionaries, so that the JSON form is deterministic and
/// the proxy engine evaluates routes in the order the controller chose.
public struct ProxyConfig: Hashable, Sendable {
    /// A content hash; equal configs have equal versions.
    public var version: String
    /// `<serviceaccount>.<namespace>.cluster.local`.
    public var serviceIdentity: String
    public var spec: ProxySpec
    public var inbound: InboundConfig
    public var outbound: OutboundConfig

    public init(version: String = "", serviceIdentity: String, spec: ProxySpec = ProxySpec(), inbound: InboundConfig = InboundConfig(), outbound: OutboundConfig = OutboundConfig()) {
        self.version = version
        self.serviceIdentity = serviceIdentity
        self.spec = spec
        self.inbound = inbound
        self.outbound = outbound
    }
}

/// Mesh-wide settings a sidecar needs (`Spec` in the Pipy config).
public struct ProxySpec: Hashable, Sendable {
    public var sidecarLogLevel: String
    public var enableEgress: Bool
    public var enablePermissiveTrafficPolicyMode: Bool
    public var enableRetryPolicy: Bool
    /// The pod's workload, stamped by the controller on the config it serves a pod; nil in the
    /// config it computes for a proxy group.
    public var workload: ProxyWorkload?
    /// MeshConfig's `observability.remoteLogging.enable`: the sidecar writes an access log.
    public var accessLog: Bool
    /// The HTTP filter order per direction; nil: the engine's default order.
    public var chains: HTTPChainsConfig?
    /// Where to send Zipkin spans (MeshConfig `observability.tracing` when enabled); nil: no tracing.
    public var tracing: TracingSpec?
    /// Where to ship the access log besides the sidecar's own sink (MeshConfig
    /// `observability.remoteLogging` with an address); nil: nowhere.
    public var remoteLogging: RemoteLoggingSpec?
    /// The Egress policies naming the proxy's ServiceAccount (with `enableEgressPolicy`); nil: none.
    public var egressPolicy: EgressPolicySpec?
    /// Where the proxy's egress goes instead of its destination (an EgressGateway); nil: straight out.
    public var egressGateway: EgressGatewaySpec?
    /// Destination ranges (CIDRs) egress never reaches, whatever allows it: the egress gateway's
    /// own host (loopback, link-local, its listen address), so that a tunnel cannot be turned on
    /// the gateway's admin port or the node's metadata service. Empty for sidecars.
    public var egressRefusedRanges: [String] = []

    public init(sidecarLogLevel: String = "error", enableEgress: Bool = false, enablePermissiveTrafficPolicyMode: Bool = false, enableRetryPolicy: Bool = false,
                workload: ProxyWorkload? = nil, accessLog: Bool = false, chains: HTTPChainsConfig? = nil, tracing: TracingSpec? = nil,
                remoteLogging: RemoteLoggingSpec? = nil, egressPolicy: EgressPolicySpec? = nil, egressGateway: EgressGatewaySpec? = nil) {
        self.egressPolicy = egressPolicy
        self.egressGateway = egressGateway
        self.workload = workload
        self.accessLog = accessLog
        self.sidecarLogLevel = sidecarLogLevel
        self.enableEgress = enableEgress
        self.enablePermissiveTrafficPolicyMode = enablePermissiveTrafficPolicyMode
        self.enableRetryPolicy = enableRetryPolicy
        self.chains = chains
        self.tracing = tracing
        self.remoteLogging = remoteLogging
    }
}

/// A cluster name and its weight, e.g. `bookstore/bookstore-v1|14001` → 50.
public struct WeightedCluster: Hashable, Sendable {
    public var name: String
    public var weight: Int
    public init(name: String, weight: Int) {
        self.name = name
        self.weight = weight
    }
}

public struct HeaderMatch: Hashable, Sendable {
    public var name: String
    /// Matched against the whole header value.
    public var valueRegex: String
    public init(name: String, valueRegex: String) {
        self.name = name
        self.valueRegex = valueRegex
    }
}

/// A local rate limit as the sidecar enforces it (token bucket).
public struct RateLimitConfig: Hashable, Sendable {
    /// Tokens produced per `period`.
    public var limit: Int
    public var period: MeshDuration
    /// Bucket capacity: `burst` when set, otherwise `limit` (FSM's `algo.Quota(burst || limit)`).
    public var capacity: Int
    public var responseStatusCode: Int
    public var responseHeadersToAdd: [HeaderValue]

    public init(limit: Int, period: MeshDuration, capacity: Int, responseStatusCode: Int = 429, responseHeadersToAdd: [HeaderValue] = []) {
        self.limit = limit
        self.period = period
        self.capacity = capacity
        self.responseStatusCode = responseStatusCode
        self.responseHeadersToAdd = responseHeadersToAdd
    }
}

/// One entry of `HttpServiceRouteRules[service]`, keyed by its path regex.
public struct RouteRule: Hashable, Sendable {
    /// Matched against the whole path (without the query); `.*` matches every path.
    public var pathRegex: String
    /// nil: any headers.
    public var headers: [HeaderMatch]?
    /// nil: any method.
    public var methods: [String]?
    public var targetClusters: [WeightedCluster]
    /// Service identities allowed to use this route; nil: everyone (permissive mode).
    public var allowedServices: [String]?
    /// Route-level local rate limit (inbound only).
    public var rateLimit: RateLimitConfig?

    public init(pathRegex: String = ".*", headers: [HeaderMatch]? = nil, methods: [String]? = nil, targetClusters: [WeightedCluster] = [], allowedServices: [String]? = nil, rateLimit: RateLimitConfig? = nil) {
        self.pathRegex = pathRegex
        self.headers = headers
        self.methods = methods
        self.targetClusters = targetClusters
        self.allowedServices = allowedServices
        self.rateLimit = rateLimit
    }
}

/// `HttpServiceRouteRules[service]`: the routes of one service FQDN, evaluated in order.
public struct ServiceRouteRules: Hashable, Sendable {
    public var service: String
    public var rules: [RouteRule]
    /// Service (virtual-host) level local rate limit (inbound only).
    public var rateLimit: RateLimitConfig?

    public init(service: String, rules: [RouteRule], rateLimit: RateLimitConfig? = nil) {
        self.service = service
        self.rules = rules
        self.rateLimit = rateLimit
    }
}

/// A host form and the service FQDN it names (`bookstore.bookstore:14001` → `bookstore.bookstore.svc.cluster.local`).
public struct HostMapping: Hashable, Sendable {
    public var host: String
    public var service: String
    public init(host: String, service: String) {
        self.host = host
        self.service = service
    }
}

public struct OutboundTrafficMatch: Hashable, Sendable {
    public var port: Int
    public var appProtocol: AppProtocol
    /// Service cluster IPs (`10.96.0.12/32`) or pod IPs for headless services.
    public var destinationIPRanges: [String]
    public var httpHostPort2Service: [HostMapping]
    public var httpServiceRouteRules: [ServiceRouteRules]
    /// For TCP protocols: where connections go.
    public var targetClusters: [WeightedCluster]?
    public var allowedEgressTraffic: Bool
    public var serviceIdentity: String

    public init(port: Int, appProtocol: AppProtocol, destinationIPRanges: [String] = [], httpHostPort2Service: [HostMapping] = [], httpServiceRouteRules: [ServiceRouteRules] = [], targetClusters: [WeightedCluster]? = nil, allowedEgressTraffic: Bool = false, serviceIdentity: String) {
        self.port = port
        self.appProtocol = appProtocol
        self.destinationIPRanges = destinationIPRanges
        self.httpHostPort2Service = httpHostPort2Service
        self.httpServiceRouteRules = httpServiceRouteRules
        self.targetClusters = targetClusters
        self.allowedEgressTraffic = allowedEgressTraffic
        self.serviceIdentity = serviceIdentity
    }
}

public struct InboundTrafficMatch: Hashable, Sendable {
    public var port: Int
    public var appProtocol: AppProtocol
    /// nil: any source address.
    public var sourceIPRanges: [String]?
    public var httpHostPort2Service: [HostMapping]
    public var httpServiceRouteRules: [ServiceRouteRules]
    /// For TCP protocols: the local cluster.
    public var targetClusters: [WeightedCluster]?
    /// Identities allowed to open TCP connections (SMI TCPRoute); nil: everyone.
    public var allowedEndpoints: [String]?
    /// New-connection limit on this port (`rateLimit.local.tcp`).
    public var tcpRateLimit: RateLimitConfig?
    /// Clients from outside the mesh that IngressBackends admit to this port; nil: none named.
    public var ingress: IngressAdmission?
    /// Clients outside the mesh admitted on this port (AccessControl); nil: none.
    public var accessControl: InboundAccessControl?

    public init(port: Int, appProtocol: AppProtocol, sourceIPRanges: [String]? = nil, httpHostPort2Service: [HostMapping] = [], httpServiceRouteRules: [ServiceRouteRules] = [], targetClusters: [WeightedCluster]? = nil, allowedEndpoints: [String]? = nil, tcpRateLimit: RateLimitConfig? = nil, ingress: IngressAdmission? = nil,
                accessControl: InboundAccessControl? = nil) {
        self.accessControl = accessControl
        self.port = port
        self.appProtocol = appProtocol
        self.sourceIPRanges = sourceIPRanges
        self.httpHostPort2Service = httpHostPort2Service
        self.httpServiceRouteRules = httpServiceRouteRules
        self.targetClusters = targetClusters
        self.allowedEndpoints = allowedEndpoints
        self.tcpRateLimit = tcpRateLimit
        self.ingress = ingress
    }
}

public struct ClusterEndpoint: Hashable, Sendable {
    /// `ip:port`.
    public var address: String
    public var weight: Int
    public init(address: String, weight: Int = 100) {
        self.address = address
        self.weight = weight
    }
}

/// `ClustersConfigs[name]`: endpoints and the upstream policies of one cluster.
public struct ClusterConfig: Hashable, Sendable {
    /// `ns/svc|port` outbound, `ns/svc|port|local` inbound.
    public var name: String
    public var endpoints: [ClusterEndpoint]
    public var connectionSettings: ConnectionSettings?
    public var retryPolicy: RetryPolicy?

    public init(name: String, endpoints: [ClusterEndpoint] = [], connectionSettings: ConnectionSettings? = nil, retryPolicy: RetryPolicy? = nil) {
        self.name = name
        self.endpoints = endpoints
        self.connectionSettings = connectionSettings
        self.retryPolicy = retryPolicy
    }
}

public struct InboundConfig: Hashable, Sendable {
    /// One per port, ordered by port.
    public var trafficMatches: [InboundTrafficMatch]
    public var clustersConfigs: [ClusterConfig]
    public init(trafficMatches: [InboundTrafficMatch] = [], clustersConfigs: [ClusterConfig] = []) {
        self.trafficMatches = trafficMatches
        self.clustersConfigs = clustersConfigs
    }
}

/// The outbound half of a config. Its traffic matches and clusters are held in shared stores
/// (`OutboundConfig+Sharing.swift`): in a permissive mesh every client's outbound lists every
/// service and differs from the others only in the client's identity and egress flag, so the
/// controller builds the list once and gives each client a stamped copy of the reference.
public struct OutboundConfig: Hashable, Sendable {
    var matchStore: MatchStore
    /// Written into every match as it is read; nil: each stored match carries its own.
    var clientStamp: ClientStamp?
    var clusterStore: ClusterStore

    /// Several per port (one per destination service), ordered by port then service. Reading it
    /// builds the array (with the client's stamp written in); `trafficMatchCount`,
    /// `trafficMatch(at:)` and `forEachTrafficMatch` read without building one.
    public var trafficMatches: [OutboundTrafficMatch] {
        get {
            guard let clientStamp else { return matchStore.items }
            return matchStore.items.map(clientStamp.applied)
        }
        set {
            matchStore = MatchStore(newValue)
            clientStamp = nil
        }
    }

    public var clustersConfigs: [ClusterConfig] {
        get { clusterStore.items }
        set { clusterStore = ClusterStore(newValue) }
    }

    public init(trafficMatches: [OutboundTrafficMatch] = [], clustersConfigs: [ClusterConfig] = []) {
        matchStore = MatchStore(trafficMatches)
        clusterStore = ClusterStore(clustersConfigs)
    }
}

/// The config's `Spec.Tracing` (as FSM's Pipy config carries it): the Zipkin collector as
/// `host:port`, the path spans are POSTed to, and the share of new traces sampled.
public struct TracingSpec: Hashable, Sendable {
    public var address: String
    public var endpoint: String
    public var sampledFraction: Double

    public init(address: String, endpoint: String = "/api/v2/spans", sampledFraction: Double = 1) {
        self.address = address
        self.endpoint = endpoint
        self.sampledFraction = sampledFraction
    }
}

extension MeshConfig.Tracing {
    /// What a sidecar's config carries: nil unless tracing is enabled.
    public var proxySpec: TracingSpec? {
        enable ? TracingSpec(address: "\(address):\(port)", endpoint: endpoint, sampledFraction: sampledFraction) : nil
    }
}

/// The config's `Spec.Observability.RemoteLogging` beyond its switch (as FSM's Pipy config carries
/// it): the HTTP collector the access log's lines are shipped to, as JSON arrays.
public struct RemoteLoggingSpec: Hashable, Sendable {
    /// FSM's default: its ClickHouse `log` table takes each line as one JSON string.
    public static let defaultEndpoint = "/?query=insert%20into%20log(message)%20format%20JSONAsString"

    /// `host:port`.
    public var address: String
    public var endpoint: String
    /// Sent as the `Authorization` header when not empty.
    public var authorization: String
    /// The share of requests whose lines are shipped, chosen by their `x-request-id`.
    public var sampledFraction: Double

    public init(address: String, endpoint: String = RemoteLoggingSpec.defaultEndpoint, authorization: String = "", sampledFraction: Double = 1) {
        self.address = address
        self.endpoint = endpoint
        self.authorization = authorization
        self.sampledFraction = sampledFraction
    }
}

extension MeshConfig.RemoteLogging {
    /// What a sidecar's config carries: nil unless remote logging is on and names a collector.
    public var proxySpec: RemoteLoggingSpec? {
        guard enable, !address.isEmpty, port > 0 else { return nil }
        return RemoteLoggingSpec(address: "\(address):\(port)", endpoint: endpoint.isEmpty ? RemoteLoggingSpec.defaultEndpoint : endpoint,
                                 authorization: authorization, sampledFraction: sampledFraction)
    }
}
