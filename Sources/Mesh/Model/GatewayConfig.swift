/// The configuration the controller computes for one Gateway (the FSM Gateway pod
/// `fsm-gateway-<namespace>`): its listeners, each HTTP(S) listener's virtual hosts with their
/// rules in Gateway API precedence order, backends resolved to endpoints, the route filters as
/// data, and every FGW policy attached where its `targetRef` points.
///
/// Plain, ordered data (Codable, arrays rather than dictionaries) so that the JSON form is
/// deterministic and the engine evaluates hosts and rules in the controller's order:
/// - a request's virtual host is the first whose hostname matches (exact names, then wildcards
///   from the longest suffix, then `*`); no fallback to a less specific host;
/// - in a virtual host, the first rule whose match holds wins.
public struct GatewayConfig: Hashable, Sendable, Codable {
    /// `namespace/name` of the Gateway.
    public var gateway: String
    /// A content hash over everything else; equal configs have equal versions.
    public var version: String
    public var listeners: [Listener]

    public init(gateway: String, version: String = "", listeners: [Listener] = []) {
        self.gateway = gateway
        self.version = version
        self.listeners = listeners
    }

    public struct Listener: Hashable, Sendable, Codable {
        public var name: String
        public var port: Int
        public var `protocol`: GatewayListenerProtocol
        /// The listener's own hostname: a TLS client's SNI picks the listener (and so the certificate) of a port.
        public var hostname: String?
        public var tls: TLS?
        /// RateLimitPolicy on the Gateway's port: bytes per second each way.
        public var bytesPerSecond: Int?
        /// AccessControlPolicy on the Gateway's port.
        public var accessControl: Attached<GatewayAccessControl>?
        /// HTTP and HTTPS listeners.
        public var virtualHosts: [VirtualHost]
        /// TLS passthrough: backends by SNI, in host precedence order.
        public var sniRoutes: [SNIRoute]
        /// TCP and UDP listeners (and a TLS Terminate listener carrying TCPRoutes): the backends of
        /// the attached routes' rules, weighted.
        public var backends: [Backend]

        public init(name: String, port: Int, protocol: GatewayListenerProtocol, hostname: String? = nil, tls: TLS? = nil, bytesPerSecond: Int? = nil,
                    accessControl: Attached<GatewayAccessControl>? = nil, virtualHosts: [VirtualHost] = [], sniRoutes: [SNIRoute] = [], backends: [Backend] = []) {
            self.name = name
            self.port = port
            self.protocol = `protocol`
            self.hostname = hostname
            self.tls = tls
            self.bytesPerSecond = bytesPerSecond
            self.accessControl = accessControl
            self.virtualHosts = virtualHosts
            self.sniRoutes = sniRoutes
            self.backends = backends
        }
    }

    public struct TLS: Hashable, Sendable, Codable {
        public var mode: GatewayTLSMode
        /// Terminate: the certificates of `certificateRefs` that resolved, in their order.
        public var certificates: [Certificate]
        /// GatewayTLSPolicy `mTLS: true`: clients must present a certificate that chains to `clientCA`.
        public var requireClientCertificate: Bool
        /// PEM (the certificate Secret's `ca.crt`).
        public var clientCA: String?

        public init(mode: GatewayTLSMode, certificates: [Certificate] = [], requireClientCertificate: Bool = false, clientCA: String? = nil) {
            self.mode = mode
            self.certificates = certificates
            self.requireClientCertificate = requireClientCertificate
            self.clientCA = clientCA
        }
    }

    public struct Certificate: Hashable, Sendable, Codable {
        /// `namespace/name` of the Secret.
        public var secret: String
        public var certificatePEM: String
        public var privateKeyPEM: String
        public init(secret: String, certificatePEM: String, privateKeyPEM: String) {
            self.secret = secret
            self.certificatePEM = certificatePEM
            self.privateKeyPEM = privateKeyPEM
        }
    }

    /// A policy's settings as attached, with where they came from; rules that carry the same
    /// `source` share one state (one rate-limit bucket for a whole hostname).
    public struct Attached<Settings: Hashable & Sendable & Codable>: Hashable, Sendable, Codable {
        /// `RateLimitPolicy httpbin/ratelimit-sample hostnames[0]`.
        public var source: String
        public var settings: Settings
        public init(source: String, settings: Settings) {
            self.source = source
            self.settings = settings
        }
    }

    public struct VirtualHost: Hashable, Sendable, Codable {
        /// `foo.example.com`, `*.example.com`, or `*` for every host.
        public var hostname: String
        public var rules: [Rule]
        public init(hostname: String, rules: [Rule] = []) {
            self.hostname = hostname
            self.rules = rules
        }
    }

    /// One match of one route rule (a rule with two matches gives two entries).
    public struct Rule: Hashable, Sendable, Codable {
        /// `HTTPRoute httpbin/http-route-foo`.
        public var route: String
        /// The rule's index in the route.
        public var ruleIndex: Int
        /// HTTPRoute matches (absent for a GRPCRoute).
        public var match: GatewayHTTPRouteMatch?
        /// GRPCRoute matches.
        public var grpcMatch: GatewayGRPCRouteMatch?
        public var filters: [Filter]
        /// Weighted; empty: nothing to send to (a redirect, or every backend unresolved: 500).
        public var backends: [Backend]
        public var rateLimit: Attached<GatewayRateLimit>?
        public var accessControl: Attached<GatewayAccessControl>?
        public var faultInjection: Attached<GatewayFaultInjection>?

        public init(route: String, ruleIndex: Int, match: GatewayHTTPRouteMatch? = nil, grpcMatch: GatewayGRPCRouteMatch? = nil, filters: [Filter] = [], backends: [Backend] = [],
                    rateLimit: Attached<GatewayRateLimit>? = nil, accessControl: Attached<GatewayAccessControl>? = nil, faultInjection: Attached<GatewayFaultInjection>? = nil) {
            self.route = route
            self.ruleIndex = ruleIndex
            self.match = match
            self.grpcMatch = grpcMatch
            self.filters = filters
            self.backends = backends
            self.rateLimit = rateLimit
            self.accessControl = accessControl
            self.faultInjection = faultInjection
        }
    }

    /// A route filter with its references resolved (the mirror's backend).
    public enum Filter: Hashable, Sendable, Codable {
        case requestHeaderModifier(GatewayHeaderModifier)
        case responseHeaderModifier(GatewayHeaderModifier)
        case requestRedirect(GatewayRequestRedirect)
        case urlRewrite(GatewayURLRewrite)
        case requestMirror(Backend)
        /// FSM Ingress's `rewrite-target-from`/`-to` annotations: the first match of the regex in
        /// the path is replaced (`^/httpbin/?` → `/`).
        case pathRegexRewrite(pattern: String, replacement: String)
    }

    public struct SNIRoute: Hashable, Sendable, Codable {
        public var hostname: String
        public var route: String
        public var backends: [Backend]
        public init(hostname: String, route: String, backends: [Backend] = []) {
            self.hostname = hostname
            self.route = route
            self.backends = backends
        }
    }

    public struct Backend: Hashable, Sendable, Codable {
        /// `namespace/name` of the Service, or the host of an external backend (`httpbin.org`).
        public var service: String
        /// The Service port (or the external port).
        public var port: Int
        public var weight: Int
        /// `ip:targetPort` of the ready endpoints, sorted; an external backend's `host:port`.
        public var endpoints: [String]
        public var external: Bool
        public var policies: BackendPolicies

        public init(service: String, port: Int, weight: Int = 1, endpoints: [String] = [], external: Bool = false, policies: BackendPolicies = BackendPolicies()) {
            self.service = service
            self.port = port
            self.weight = weight
            self.endpoints = endpoints
            self.external = external
            self.policies = policies
        }
    }

    /// The Service-targeted policies of one Service port.
    public struct BackendPolicies: Hashable, Sendable, Codable {
        /// RoundRobin when absent.
        public var loadBalancer: GatewayLoadBalancerType?
        public var sessionSticky: GatewaySessionSticky?
        public var healthCheck: GatewayHealthCheck?
        public var retry: GatewayRetry?
        public var circuitBreaking: GatewayCircuitBreaking?
        /// UpstreamTLSPolicy: speak TLS to the endpoints, verifying them against `caPEM`.
        public var upstreamTLS: UpstreamTLS?

        public init(loadBalancer: GatewayLoadBalancerType? = nil, sessionSticky: GatewaySessionSticky? = nil, healthCheck: GatewayHealthCheck? = nil,
                    retry: GatewayRetry? = nil, circuitBreaking: GatewayCircuitBreaking? = nil, upstreamTLS: UpstreamTLS? = nil) {
            self.loadBalancer = loadBalancer
            self.sessionSticky = sessionSticky
            self.healthCheck = healthCheck
            self.retry = retry
            self.circuitBreaking = circuitBreaking
            self.upstreamTLS = upstreamTLS
        }
    }

    public struct UpstreamTLS: Hashable, Sendable, Codable {
        public var caPEM: String?
        /// Present the CA Secret's `tls.crt`/`tls.key` as a client certificate.
        public var mTLS: Bool
        public var clientCertificate: Certificate?
        public init(caPEM: String? = nil, mTLS: Bool = false, clientCertificate: Certificate? = nil) {
            self.caPEM = caPEM
            self.mTLS = mTLS
            self.clientCertificate = clientCertificate
        }
    }
}

/// A status condition the controller reports on a GatewayClass, a Gateway (and each listener) or a
/// route (per parent), as `kubectl get` shows them (`ACCEPTED True`).
public struct GatewayCondition: Hashable, Sendable, Codable {
    public enum Status: String, Hashable, Sendable, Codable {
        case `true` = "True"
        case `false` = "False"
        case unknown = "Unknown"
    }

    public var type: String
    public var status: Status
    public var reason: String
    public var message: String

    public init(type: String, status: Status, reason: String, message: String = "") {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
    }
}

/// The conditions of one object, by where they apply: the object itself (`""`), a listener
/// (`listener http`) or a route's parent (`parent httpbin/simple-fsm-gateway`).
public struct GatewayStatus: Hashable, Sendable, Codable {
    /// `GatewayClass fsm-gateway-cls`, `Gateway httpbin/simple-fsm-gateway`, `HTTPRoute httpbin/http-route-foo`.
    public var object: String
    public var scope: String
    public var conditions: [GatewayCondition]

    public init(object: String, scope: String = "", conditions: [GatewayCondition] = []) {
        self.object = object
        self.scope = scope
        self.conditions = conditions
    }

    public func condition(_ type: String) -> GatewayCondition? {
        conditions.first { $0.type == type }
    }
}
