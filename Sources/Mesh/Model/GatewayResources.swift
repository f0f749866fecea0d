/// Gateway API (`gateway.networking.k8s.io`) resources as FSM Gateway reads them: GatewayClass,
/// Gateway, and the five route kinds (HTTPRoute, GRPCRoute, TCPRoute, TLSRoute, UDPRoute), the
/// guides' section 3.7.4 (inventory F2-010..F2-030). Plain data: decoding lives in
/// `ManifestDecoder+Gateway.swift`, attachment and precedence in MeshControl.
///
/// The route filters are named under a `Gateway` prefix so that the engine's own filter types
/// (MeshProxy's chain) can adopt or replace them without a clash.

/// The controller name FSM Gateway answers to (`kubectl get GatewayClass`: CONTROLLER).
public enum GatewayAPI {
    public static let group = "gateway.networking.k8s.io"
    public static let controllerName = "flomesh.io/gateway-controller"
    /// The GatewayClass `fsm install --set=fsm.fsmGateway.enabled=true` creates (F2-010).
    public static let defaultClassName = "fsm-gateway-cls"
    /// The class names served without a GatewayClass object: the guides' `fsm-gateway-cls` and
    /// `fsm`, the name later FSM releases create and fsm-docs' manifests use (docs/DECISIONS.md 100).
    public static let builtInClassNames = [defaultClassName, "fsm"]
}

public struct GatewayClass: Hashable, Sendable {
    public var metadata: ObjectMeta
    public var controllerName: String
    public var description: String?

    public init(metadata: ObjectMeta, controllerName: String, description: String? = nil) {
        self.metadata = metadata
        self.controllerName = controllerName
        self.description = description
    }
}

/// A listener's protocol (Gateway API `ProtocolType`, the five FSM Gateway serves).
public enum GatewayListenerProtocol: String, Hashable, Sendable, CaseIterable, Codable {
    case http = "HTTP"
    case https = "HTTPS"
    case tls = "TLS"
    case tcp = "TCP"
    case udp = "UDP"
}

public enum GatewayTLSMode: String, Hashable, Sendable, CaseIterable, Codable {
    case terminate = "Terminate"
    case passthrough = "Passthrough"
}

/// A reference to another object (a Secret, a Service, a Gateway): group and kind as written,
/// the namespace defaulted to the referrer's.
public struct GatewayObjectReference: Hashable, Sendable, Codable {
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

public struct GatewayListenerTLS: Hashable, Sendable {
    public var mode: GatewayTLSMode
    /// Secrets (core group, kind Secret) holding `tls.crt` and `tls.key`.
    public var certificateRefs: [GatewayObjectReference]
    public var options: [String: String]

    public init(mode: GatewayTLSMode = .terminate, certificateRefs: [GatewayObjectReference] = [], options: [String: String] = [:]) {
        self.mode = mode
        self.certificateRefs = certificateRefs
        self.options = options
    }
}

/// `allowedRoutes.namespaces.from`.
public enum GatewayRouteNamespaces: Hashable, Sendable {
    case same
    case all
    /// Namespaces whose labels carry every pair.
    case selector([String: String])
}

public struct GatewayRouteGroupKind: Hashable, Sendable {
    public var group: String
    public var kind: String
    public init(group: String = GatewayAPI.group, kind: String) {
        self.group = group
        self.kind = kind
    }
}

public struct GatewayListener: Hashable, Sendable {
    public var name: String
    public var hostname: String?
    public var port: Int
    public var `protocol`: GatewayListenerProtocol
    public var tls: GatewayListenerTLS?
    /// `Same` when absent, as the Gateway API defaults it.
    public var allowedNamespaces: GatewayRouteNamespaces
    /// Empty: the kinds the protocol carries (`GatewayRouteKind.allowed(on:)`).
    public var allowedKinds: [GatewayRouteGroupKind]

    public init(name: String, hostname: String? = nil, port: Int, protocol: GatewayListenerProtocol, tls: GatewayListenerTLS? = nil,
                allowedNamespaces: GatewayRouteNamespaces = .same, allowedKinds: [GatewayRouteGroupKind] = []) {
        self.name = name
        self.hostname = hostname
        self.port = port
        self.protocol = `protocol`
        self.tls = tls
        self.allowedNamespaces = allowedNamespaces
        self.allowedKinds = allowedKinds
    }
}

public struct Gateway: Hashable, Sendable {
    public var metadata: ObjectMeta
    public var gatewayClassName: String
    public var listeners: [GatewayListener]

    public init(metadata: ObjectMeta, gatewayClassName: String, listeners: [GatewayListener] = []) {
        self.metadata = metadata
        self.gatewayClassName = gatewayClassName
        self.listeners = listeners
    }
}

// MARK: - Routes

public enum GatewayRouteKind: String, Hashable, Sendable, CaseIterable, Codable {
    case http = "HTTPRoute"
    case grpc = "GRPCRoute"
    case tcp = "TCPRoute"
    case tls = "TLSRoute"
    case udp = "UDPRoute"

    /// The route kinds a listener of the protocol accepts when `allowedRoutes.kinds` is empty.
    public static func allowed(on listenerProtocol: GatewayListenerProtocol) -> [GatewayRouteKind] {
        switch listenerProtocol {
        case .http, .https: [.http, .grpc]
        case .tls: [.tls]
        case .tcp: [.tcp]
        case .udp: [.udp]
        }
    }
}

/// `parentRefs[]`: a Gateway, optionally narrowed to one listener by name or port.
public struct GatewayParentReference: Hashable, Sendable {
    public var group: String
    public var kind: String
    public var namespace: String
    public var name: String
    public var sectionName: String?
    public var port: Int?

    public init(group: String = GatewayAPI.group, kind: String = "Gateway", namespace: String, name: String, sectionName: String? = nil, port: Int? = nil) {
        self.group = group
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.sectionName = sectionName
        self.port = port
    }
}

public enum GatewayPathMatchType: String, Hashable, Sendable, CaseIterable, Codable {
    case exact = "Exact"
    case pathPrefix = "PathPrefix"
    case regularExpression = "RegularExpression"
}

public enum GatewayValueMatchType: String, Hashable, Sendable, CaseIterable, Codable {
    case exact = "Exact"
    case regularExpression = "RegularExpression"
}

public struct GatewayPathMatch: Hashable, Sendable, Codable {
    public var type: GatewayPathMatchType
    public var value: String
    public init(type: GatewayPathMatchType = .pathPrefix, value: String = "/") {
        self.type = type
        self.value = value
    }
}

/// A header or query parameter match.
public struct GatewayValueMatch: Hashable, Sendable, Codable {
    public var type: GatewayValueMatchType
    public var name: String
    public var value: String
    public init(type: GatewayValueMatchType = .exact, name: String, value: String) {
        self.type = type
        self.name = name
        self.value = value
    }
}

/// One `matches[]` entry of an HTTPRoute rule (or of a policy's `http[]`); an absent path is
/// `PathPrefix /`, as the Gateway API defaults it.
public struct GatewayHTTPRouteMatch: Hashable, Sendable, Codable {
    public var path: GatewayPathMatch
    public var headers: [GatewayValueMatch]
    public var queryParams: [GatewayValueMatch]
    public var method: String?

    public init(path: GatewayPathMatch = GatewayPathMatch(), headers: [GatewayValueMatch] = [], queryParams: [GatewayValueMatch] = [], method: String? = nil) {
        self.path = path
        self.headers = headers
        self.queryParams = queryParams
        self.method = method
    }
}

/// One `matches[]` entry of a GRPCRoute rule: a method (service and/or method name) and headers.
public struct GatewayGRPCRouteMatch: Hashable, Sendable, Codable {
    public var type: GatewayValueMatchType
    public var service: String?
    public var method: String?
    public var headers: [GatewayValueMatch]

    public init(type: GatewayValueMatchType = .exact, service: String? = nil, method: String? = nil, headers: [GatewayValueMatch] = []) {
        self.type = type
        self.service = service
        self.method = method
        self.headers = headers
    }
}

public struct GatewayHeader: Hashable, Sendable, Codable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// `RequestHeaderModifier` / `ResponseHeaderModifier`.
public struct GatewayHeaderModifier: Hashable, Sendable, Codable {
    public var set: [GatewayHeader]
    public var add: [GatewayHeader]
    public var remove: [String]
    public init(set: [GatewayHeader] = [], add: [GatewayHeader] = [], remove: [String] = []) {
        self.set = set
        self.add = add
        self.remove = remove
    }
}

/// A path replacement of `URLRewrite` and `RequestRedirect`.
public enum GatewayPathModifier: Hashable, Sendable, Codable {
    case replaceFullPath(String)
    case replacePrefixMatch(String)
}

public struct GatewayRequestRedirect: Hashable, Sendable, Codable {
    public var scheme: String?
    public var hostname: String?
    public var path: GatewayPathModifier?
    public var port: Int?
    /// 302 when absent.
    public var statusCode: Int
    public init(scheme: String? = nil, hostname: String? = nil, path: GatewayPathModifier? = nil, port: Int? = nil, statusCode: Int = 302) {
        self.scheme = scheme
        self.hostname = hostname
        self.path = path
        self.port = port
        self.statusCode = statusCode
    }
}

public struct GatewayURLRewrite: Hashable, Sendable, Codable {
    public var hostname: String?
    public var path: GatewayPathModifier?
    public init(hostname: String? = nil, path: GatewayPathModifier? = nil) {
        self.hostname = hostname
        self.path = path
    }
}

/// A route filter as the manifest states it; the mirror's backend is resolved by the controller.
public enum GatewayHTTPFilter: Hashable, Sendable, Codable {
    case requestHeaderModifier(GatewayHeaderModifier)
    case responseHeaderModifier(GatewayHeaderModifier)
    case requestRedirect(GatewayRequestRedirect)
    case urlRewrite(GatewayURLRewrite)
    case requestMirror(backend: GatewayObjectReference, port: Int?)
}

public struct GatewayBackendRef: Hashable, Sendable {
    /// `Service` in the core group unless stated.
    public var reference: GatewayObjectReference
    public var port: Int?
    /// 1 when absent; 0 keeps the backend out of the choice.
    public var weight: Int
    public var filters: [GatewayHTTPFilter]

    public init(reference: GatewayObjectReference, port: Int? = nil, weight: Int = 1, filters: [GatewayHTTPFilter] = []) {
        self.reference = reference
        self.port = port
        self.weight = weight
        self.filters = filters
    }
}

/// A rule of any route kind: L4 kinds (TCP, TLS, UDP) carry only backends.
public struct GatewayRouteRule: Hashable, Sendable {
    public var matches: [GatewayHTTPRouteMatch]
    public var grpcMatches: [GatewayGRPCRouteMatch]
    public var filters: [GatewayHTTPFilter]
    public var backendRefs: [GatewayBackendRef]

    public init(matches: [GatewayHTTPRouteMatch] = [], grpcMatches: [GatewayGRPCRouteMatch] = [], filters: [GatewayHTTPFilter] = [], backendRefs: [GatewayBackendRef] = []) {
        self.matches = matches
        self.grpcMatches = grpcMatches
        self.filters = filters
        self.backendRefs = backendRefs
    }
}

/// HTTPRoute, GRPCRoute, TCPRoute, TLSRoute or UDPRoute.
public struct GatewayRoute: Hashable, Sendable {
    public var kind: GatewayRouteKind
    public var metadata: ObjectMeta
    public var parentRefs: [GatewayParentReference]
    /// HTTP, GRPC and TLS routes; empty matches every hostname the listener allows.
    public var hostnames: [String]
    public var rules: [GatewayRouteRule]

    public init(kind: GatewayRouteKind, metadata: ObjectMeta, parentRefs: [GatewayParentReference] = [], hostnames: [String] = [], rules: [GatewayRouteRule] = []) {
        self.kind = kind
        self.metadata = metadata
        self.parentRefs = parentRefs
        self.hostnames = hostnames
        self.rules = rules
    }
}
