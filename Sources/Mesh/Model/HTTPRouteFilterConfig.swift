/// One filter of a route rule, as the engine's config carries it: the Gateway API's
/// `HTTPRouteFilter` (apis/v1/httproute_types.go) in its JSON shape, `{"type": "URLRewrite",
/// "urlRewrite": {...}}`, with the backend of a mirror already resolved by the controller to the
/// engine cluster it names. The engine compiles and checks it when a config is applied.
public enum HTTPRouteFilterConfig: Hashable, Sendable {
    case requestHeaderModifier(HTTPHeaderModifierConfig)
    case responseHeaderModifier(HTTPHeaderModifierConfig)
    case requestRedirect(HTTPRequestRedirectConfig)
    case urlRewrite(HTTPURLRewriteConfig)
    case requestMirror(HTTPRequestMirrorConfig)
    /// FSM Gateway's FaultInjectionPolicy for the rule (not a Gateway API filter type: the
    /// controller turns the policy's config for a route match or hostname into this).
    case faultInjection(HTTPFaultInjectionConfig)

    /// The Gateway API's name of the filter type.
    public var typeName: String {
        switch self {
        case .requestHeaderModifier: "RequestHeaderModifier"
        case .responseHeaderModifier: "ResponseHeaderModifier"
        case .requestRedirect: "RequestRedirect"
        case .urlRewrite: "URLRewrite"
        case .requestMirror: "RequestMirror"
        case .faultInjection: "FaultInjection"
        }
    }

    public static let typeNames = ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite", "RequestMirror", "FaultInjection"]
}

/// `HTTPHeaderFilter`: headers to set (replace), add (append) and remove, by case-insensitive name.
public struct HTTPHeaderModifierConfig: Codable, Hashable, Sendable {
    public var set: [HeaderValue]?
    public var add: [HeaderValue]?
    public var remove: [String]?

    public init(set: [HeaderValue]? = nil, add: [HeaderValue]? = nil, remove: [String]? = nil) {
        self.set = set
        self.add = add
        self.remove = remove
    }
}

/// `HTTPPathModifier`: `ReplaceFullPath` with `replaceFullPath`, or `ReplacePrefixMatch` with
/// `replacePrefixMatch` (the part of the path the rule's PathPrefix match matched is replaced).
public struct HTTPPathModifierConfig: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Hashable, Sendable {
        case replaceFullPath = "ReplaceFullPath"
        case replacePrefixMatch = "ReplacePrefixMatch"
    }

    public var type: Kind
    public var replaceFullPath: String?
    public var replacePrefixMatch: String?

    public init(type: Kind, replaceFullPath: String? = nil, replacePrefixMatch: String? = nil) {
        self.type = type
        self.replaceFullPath = replaceFullPath
        self.replacePrefixMatch = replacePrefixMatch
    }

    public static func fullPath(_ path: String) -> HTTPPathModifierConfig { .init(type: .replaceFullPath, replaceFullPath: path) }
    public static func prefixMatch(_ prefix: String) -> HTTPPathModifierConfig { .init(type: .replacePrefixMatch, replacePrefixMatch: prefix) }
}

/// `HTTPRequestRedirectFilter`: every field optional; what is not given comes from the request
/// (the port from the listener, or the scheme's well-known port when only the scheme is given).
public struct HTTPRequestRedirectConfig: Codable, Hashable, Sendable {
    public var scheme: String?
    public var hostname: String?
    public var path: HTTPPathModifierConfig?
    public var port: Int?
    /// 301 or 302 (the default).
    public var statusCode: Int?

    public init(scheme: String? = nil, hostname: String? = nil, path: HTTPPathModifierConfig? = nil, port: Int? = nil, statusCode: Int? = nil) {
        self.scheme = scheme
        self.hostname = hostname
        self.path = path
        self.port = port
        self.statusCode = statusCode
    }
}

/// `HTTPURLRewriteFilter`: the Host the backend sees, and its path.
public struct HTTPURLRewriteConfig: Codable, Hashable, Sendable {
    public var hostname: String?
    public var path: HTTPPathModifierConfig?

    public init(hostname: String? = nil, path: HTTPPathModifierConfig? = nil) {
        self.hostname = hostname
        self.path = path
    }
}

/// `HTTPRequestMirrorFilter`, its `backendRef` resolved by the controller to the engine cluster
/// of that Service port (a name in the config's clusters).
public struct HTTPRequestMirrorConfig: Codable, Hashable, Sendable {
    public var cluster: String

    public init(cluster: String) {
        self.cluster = cluster
    }
}

/// FaultInjectionPolicy's `config` (F2-021): `delay` (`percent`, and `fixed` or `range {min, max}`
/// in `unit`, `ms` by default) and `abort` (`percent`, `statusCode`, `message`).
public struct HTTPFaultInjectionConfig: Codable, Hashable, Sendable {
    public struct Delay: Codable, Hashable, Sendable {
        public var percent: Int
        public var fixed: Int?
        public var range: DelayRange?
        /// `ms`, `s` or `m`; nil: `ms`.
        public var unit: String?

        public init(percent: Int, fixed: Int? = nil, range: DelayRange? = nil, unit: String? = nil) {
            self.percent = percent
            self.fixed = fixed
            self.range = range
            self.unit = unit
        }
    }

    public struct DelayRange: Codable, Hashable, Sendable {
        public var min: Int
        public var max: Int

        public init(min: Int, max: Int) {
            self.min = min
            self.max = max
        }
    }

    public struct Abort: Codable, Hashable, Sendable {
        public var percent: Int
        public var statusCode: Int
        public var message: String?

        public init(percent: Int, statusCode: Int, message: String? = nil) {
            self.percent = percent
            self.statusCode = statusCode
            self.message = message
        }
    }

    public var delay: Delay?
    public var abort: Abort?

    public init(delay: Delay? = nil, abort: Abort? = nil) {
        self.delay = delay
        self.abort = abort
    }
}

extension HeaderValue: Codable {
    private enum CodingKeys: String, CodingKey { case name, value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try container.decode(String.self, forKey: .name), value: try container.decode(String.self, forKey: .value))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(value, forKey: .value)
    }
}

extension HTTPRouteFilterConfig: Codable {
    private enum CodingKeys: String, CodingKey {
        case type, requestHeaderModifier, responseHeaderModifier, requestRedirect, urlRewrite, requestMirror, faultInjection
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "RequestHeaderModifier": self = .requestHeaderModifier(try container.decode(HTTPHeaderModifierConfig.self, forKey: .requestHeaderModifier))
        case "ResponseHeaderModifier": self = .responseHeaderModifier(try container.decode(HTTPHeaderModifierConfig.self, forKey: .responseHeaderModifier))
        case "RequestRedirect": self = .requestRedirect(try container.decode(HTTPRequestRedirectConfig.self, forKey: .requestRedirect))
        case "URLRewrite": self = .urlRewrite(try container.decode(HTTPURLRewriteConfig.self, forKey: .urlRewrite))
        case "RequestMirror": self = .requestMirror(try container.decode(HTTPRequestMirrorConfig.self, forKey: .requestMirror))
        case "FaultInjection": self = .faultInjection(try container.decode(HTTPFaultInjectionConfig.self, forKey: .faultInjection))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: container,
                debugDescription: "unknown filter type \"\(type)\", expected one of \(HTTPRouteFilterConfig.typeNames.joined(separator: ", "))")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(typeName, forKey: .type)
        switch self {
        case .requestHeaderModifier(let config): try container.encode(config, forKey: .requestHeaderModifier)
        case .responseHeaderModifier(let config): try container.encode(config, forKey: .responseHeaderModifier)
        case .requestRedirect(let config): try container.encode(config, forKey: .requestRedirect)
        case .urlRewrite(let config): try container.encode(config, forKey: .urlRewrite)
        case .requestMirror(let config): try container.encode(config, forKey: .requestMirror)
        case .faultInjection(let config): try container.encode(config, forKey: .faultInjection)
        }
    }
}
