/// FSM Gateway's policies (`gateway.flomesh.io/v1alpha1`, inventory G4): each names a target
/// (`targetRef`: a Gateway, an HTTPRoute or GRPCRoute, or a Service) and carries its settings at
/// one or more levels: per port, per hostname, per route match (`http[]`, `grpc[]`), and a
/// default (`config`). One shape for the ten kinds; `GatewayPolicyKind` says which levels and
/// which settings a kind has, and the decoder refuses the others.

public enum GatewayPolicyKind: String, Hashable, Sendable, CaseIterable, Codable {
    case rateLimit = "RateLimitPolicy"
    case accessControl = "AccessControlPolicy"
    case loadBalancer = "LoadBalancerPolicy"
    case sessionSticky = "SessionStickyPolicy"
    case healthCheck = "HealthCheckPolicy"
    case faultInjection = "FaultInjectionPolicy"
    case retry = "RetryPolicy"
    case upstreamTLS = "UpstreamTLSPolicy"
    case gatewayTLS = "GatewayTLSPolicy"
    case circuitBreaking = "CircuitBreakingPolicy"

    public static let group = "gateway.flomesh.io"
    public static let apiVersion = "gateway.flomesh.io/v1alpha1"

    /// The kinds of object the policy may target (`targetRef.kind`).
    public var targetKinds: [String] {
        switch self {
        case .rateLimit, .accessControl: ["Gateway", "HTTPRoute", "GRPCRoute"]
        case .faultInjection: ["HTTPRoute", "GRPCRoute"]
        case .gatewayTLS: ["Gateway"]
        case .retry: ["Service", "ServiceImport"]
        case .loadBalancer, .sessionSticky, .healthCheck, .upstreamTLS, .circuitBreaking: ["Service", "ServiceImport"]
        }
    }

    /// Whether the targets are Services (the policy applies to a backend) rather than a Gateway or a route.
    public var targetsServices: Bool { targetKinds.contains("Service") }
}

public struct GatewayPolicyTargetRef: Hashable, Sendable, Codable {
    public var group: String
    public var kind: String
    public var name: String
    public var namespace: String
    public init(group: String = "", kind: String, name: String, namespace: String) {
        self.group = group
        self.kind = kind
        self.name = name
        self.namespace = namespace
    }
}

/// An L7 rate limit (RateLimitPolicy `config`): `requests` per `statTimeWindow` seconds, up to
/// `backlog` requests queued beyond it, the rest answered with `responseStatusCode`.
public struct GatewayRateLimit: Hashable, Sendable, Codable {
    public var mode: String
    public var backlog: Int
    public var requests: Int
    public var burst: Int?
    public var statTimeWindow: Int
    public var responseStatusCode: Int
    public var responseHeadersToAdd: [GatewayHeader]

    public init(mode: String = "Local", backlog: Int = 10, requests: Int, burst: Int? = nil, statTimeWindow: Int, responseStatusCode: Int = 429, responseHeadersToAdd: [GatewayHeader] = []) {
        self.mode = mode
        self.backlog = backlog
        self.requests = requests
        self.burst = burst
        self.statTimeWindow = statTimeWindow
        self.responseStatusCode = responseStatusCode
        self.responseHeadersToAdd = responseHeadersToAdd
    }
}

/// AccessControlPolicy `config`: IPs or CIDRs; a whitelist, when present, decides alone (F2-022).
public struct GatewayAccessControl: Hashable, Sendable, Codable {
    public var blacklist: [String]
    public var whitelist: [String]
    public var enableXFF: Bool
    public var statusCode: Int
    public var message: String

    public init(blacklist: [String] = [], whitelist: [String] = [], enableXFF: Bool = false, statusCode: Int = 403, message: String = "") {
        self.blacklist = blacklist
        self.whitelist = whitelist
        self.enableXFF = enableXFF
        self.statusCode = statusCode
        self.message = message
    }
}

public enum GatewayLoadBalancerType: String, Hashable, Sendable, CaseIterable, Codable {
    case roundRobin = "RoundRobinLoadBalancer"
    case hashing = "HashingLoadBalancer"
    case leastConnection = "LeastConnectionLoadBalancer"
}

public struct GatewaySessionSticky: Hashable, Sendable, Codable {
    public var cookieName: String
    /// Seconds.
    public var expires: Int
    public init(cookieName: String = "_srv_id", expires: Int = 3600) {
        self.cookieName = cookieName
        self.expires = expires
    }
}

public struct GatewayHealthCheckMatch: Hashable, Sendable, Codable {
    public var statusCodes: [Int]
    public var body: String?
    public var headers: [GatewayHeader]
    public init(statusCodes: [Int] = [], body: String? = nil, headers: [GatewayHeader] = []) {
        self.statusCodes = statusCodes
        self.body = body
        self.headers = headers
    }
}

/// HealthCheckPolicy `config`: seconds; without `path` the check is a TCP connect.
public struct GatewayHealthCheck: Hashable, Sendable, Codable {
    public var interval: Int
    public var maxFails: Int
    public var failTimeout: Int?
    public var path: String?
    public var matches: [GatewayHealthCheckMatch]
    public init(interval: Int, maxFails: Int, failTimeout: Int? = nil, path: String? = nil, matches: [GatewayHealthCheckMatch] = []) {
        self.interval = interval
        self.maxFails = maxFails
        self.failTimeout = failTimeout
        self.path = path
        self.matches = matches
    }
}

public enum GatewayDelayUnit: String, Hashable, Sendable, CaseIterable, Codable {
    case ms, s, m, h, d
}

public struct GatewayFaultDelay: Hashable, Sendable, Codable {
    /// 0...100.
    public var percent: Int
    public var fixed: Int?
    public var rangeMin: Int?
    public var rangeMax: Int?
    public var unit: GatewayDelayUnit
    public init(percent: Int, fixed: Int? = nil, rangeMin: Int? = nil, rangeMax: Int? = nil, unit: GatewayDelayUnit = .ms) {
        self.percent = percent
        self.fixed = fixed
        self.rangeMin = rangeMin
        self.rangeMax = rangeMax
        self.unit = unit
    }
}

public struct GatewayFaultAbort: Hashable, Sendable, Codable {
    public var percent: Int
    public var statusCode: Int
    public var message: String?
    public init(percent: Int, statusCode: Int = 500, message: String? = nil) {
        self.percent = percent
        self.statusCode = statusCode
        self.message = message
    }
}

public struct GatewayFaultInjection: Hashable, Sendable, Codable {
    public var delay: GatewayFaultDelay?
    public var abort: GatewayFaultAbort?
    public init(delay: GatewayFaultDelay? = nil, abort: GatewayFaultAbort? = nil) {
        self.delay = delay
        self.abort = abort
    }
}

/// RetryPolicy `config`: `retryOn` codes (`5xx`, `503`), `backoffBaseInterval` in seconds.
public struct GatewayRetry: Hashable, Sendable, Codable {
    public var retryOn: [String]
    public var numRetries: Int
    public var backoffBaseInterval: Double
    public init(retryOn: [String], numRetries: Int = 3, backoffBaseInterval: Double = 1) {
        self.retryOn = retryOn
        self.numRetries = numRetries
        self.backoffBaseInterval = backoffBaseInterval
    }
}

/// UpstreamTLSPolicy and GatewayTLSPolicy `config`.
public struct GatewayTLSSettings: Hashable, Sendable, Codable {
    /// A Secret with `ca.crt` (and, for upstream mTLS, `tls.crt`/`tls.key`).
    public var certificateRef: GatewayObjectReference?
    public var mTLS: Bool
    public init(certificateRef: GatewayObjectReference? = nil, mTLS: Bool = false) {
        self.certificateRef = certificateRef
        self.mTLS = mTLS
    }
}

/// CircuitBreakingPolicy `config` (seconds and counts, as FSM's CRD states them).
public struct GatewayCircuitBreaking: Hashable, Sendable, Codable {
    public var minRequestAmount: Int
    public var statTimeWindow: Int
    public var slowTimeThreshold: Double?
    public var slowAmountThreshold: Int?
    public var slowRatioThreshold: Double?
    public var errorAmountThreshold: Int?
    public var errorRatioThreshold: Double?
    public var degradedTimeWindow: Int
    public var degradedStatusCode: Int
    public var degradedResponseContent: String?

    public init(minRequestAmount: Int, statTimeWindow: Int, slowTimeThreshold: Double? = nil, slowAmountThreshold: Int? = nil, slowRatioThreshold: Double? = nil,
                errorAmountThreshold: Int? = nil, errorRatioThreshold: Double? = nil, degradedTimeWindow: Int, degradedStatusCode: Int, degradedResponseContent: String? = nil) {
        self.minRequestAmount = minRequestAmount
        self.statTimeWindow = statTimeWindow
        self.slowTimeThreshold = slowTimeThreshold
        self.slowAmountThreshold = slowAmountThreshold
        self.slowRatioThreshold = slowRatioThreshold
        self.errorAmountThreshold = errorAmountThreshold
        self.errorRatioThreshold = errorRatioThreshold
        self.degradedTimeWindow = degradedTimeWindow
        self.degradedStatusCode = degradedStatusCode
        self.degradedResponseContent = degradedResponseContent
    }
}

/// The settings of one level of a policy; the case is the policy's kind.
public enum GatewayPolicyConfig: Hashable, Sendable, Codable {
    case rateLimit(GatewayRateLimit)
    case accessControl(GatewayAccessControl)
    case loadBalancer(GatewayLoadBalancerType)
    case sessionSticky(GatewaySessionSticky)
    case healthCheck(GatewayHealthCheck)
    case faultInjection(GatewayFaultInjection)
    case retry(GatewayRetry)
    case upstreamTLS(GatewayTLSSettings)
    case gatewayTLS(GatewayTLSSettings)
    case circuitBreaking(GatewayCircuitBreaking)
}

public struct GatewayPolicyPort: Hashable, Sendable {
    public var port: Int
    /// RateLimitPolicy: bytes per second on a Gateway's port.
    public var bps: Int?
    public var config: GatewayPolicyConfig?
    public init(port: Int, bps: Int? = nil, config: GatewayPolicyConfig? = nil) {
        self.port = port
        self.bps = bps
        self.config = config
    }
}

public struct GatewayPolicyHostname: Hashable, Sendable {
    public var hostname: String
    public var config: GatewayPolicyConfig?
    public init(hostname: String, config: GatewayPolicyConfig? = nil) {
        self.hostname = hostname
        self.config = config
    }
}

public struct GatewayPolicyHTTPMatch: Hashable, Sendable {
    public var match: GatewayHTTPRouteMatch
    public var config: GatewayPolicyConfig?
    public init(match: GatewayHTTPRouteMatch, config: GatewayPolicyConfig? = nil) {
        self.match = match
        self.config = config
    }
}

public struct GatewayPolicyGRPCMatch: Hashable, Sendable {
    public var match: GatewayGRPCRouteMatch
    public var config: GatewayPolicyConfig?
    public init(match: GatewayGRPCRouteMatch, config: GatewayPolicyConfig? = nil) {
        self.match = match
        self.config = config
    }
}

public struct GatewayPolicy: Hashable, Sendable {
    public var kind: GatewayPolicyKind
    public var metadata: ObjectMeta
    public var targetRef: GatewayPolicyTargetRef
    public var ports: [GatewayPolicyPort]
    public var hostnames: [GatewayPolicyHostname]
    public var http: [GatewayPolicyHTTPMatch]
    public var grpc: [GatewayPolicyGRPCMatch]
    /// `config` (or, for LoadBalancerPolicy, a top-level `type`): every port, hostname and route
    /// without its own.
    public var defaultConfig: GatewayPolicyConfig?
    /// RateLimitPolicy's top-level `bps`.
    public var defaultBPS: Int?

    public init(kind: GatewayPolicyKind, metadata: ObjectMeta, targetRef: GatewayPolicyTargetRef, ports: [GatewayPolicyPort] = [], hostnames: [GatewayPolicyHostname] = [],
                http: [GatewayPolicyHTTPMatch] = [], grpc: [GatewayPolicyGRPCMatch] = [], defaultConfig: GatewayPolicyConfig? = nil, defaultBPS: Int? = nil) {
        self.kind = kind
        self.metadata = metadata
        self.targetRef = targetRef
        self.ports = ports
        self.hostnames = hostnames
        self.http = http
        self.grpc = grpc
        self.defaultConfig = defaultConfig
        self.defaultBPS = defaultBPS
    }

    /// The settings for a port of the target: its own entry's, else the default.
    public func config(forPort port: Int) -> GatewayPolicyConfig? {
        ports.first(where: { $0.port == port })?.config ?? defaultConfig
    }
}
