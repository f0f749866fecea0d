/// The JSON of the route filters and path modifiers in the Gateway API's own shape
/// (`{"type": "RequestRedirect", "requestRedirect": {...}}`, `{"type": "ReplaceFullPath",
/// "replaceFullPath": "/headers"}`), rather than Swift's synthesized enum coding.
extension GatewayConfig.Filter {
    private enum CodingKeys: String, CodingKey {
        case type, requestHeaderModifier, responseHeaderModifier, requestRedirect, urlRewrite, requestMirror, pathRegexRewrite
    }

    /// The filter's `type` (the Gateway API's name; FSM Ingress's regex rewrite `PathRegexRewrite`).
    public var typeName: String {
        switch self {
        case .requestHeaderModifier: "RequestHeaderModifier"
        case .responseHeaderModifier: "ResponseHeaderModifier"
        case .requestRedirect: "RequestRedirect"
        case .urlRewrite: "URLRewrite"
        case .requestMirror: "RequestMirror"
        case .pathRegexRewrite: "PathRegexRewrite"
        }
    }

    private struct RegexRewrite: Codable {
        var pattern: String
        var replacement: String
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .requestHeaderModifier(let m):
            try container.encode("RequestHeaderModifier", forKey: .type)
            try container.encode(m, forKey: .requestHeaderModifier)
        case .responseHeaderModifier(let m):
            try container.encode("ResponseHeaderModifier", forKey: .type)
            try container.encode(m, forKey: .responseHeaderModifier)
        case .requestRedirect(let r):
            try container.encode("RequestRedirect", forKey: .type)
            try container.encode(r, forKey: .requestRedirect)
        case .urlRewrite(let r):
            try container.encode("URLRewrite", forKey: .type)
            try container.encode(r, forKey: .urlRewrite)
        case .requestMirror(let backend):
            try container.encode("RequestMirror", forKey: .type)
            try container.encode(backend, forKey: .requestMirror)
        case .pathRegexRewrite(let pattern, let replacement):
            try container.encode("PathRegexRewrite", forKey: .type)
            try container.encode(RegexRewrite(pattern: pattern, replacement: replacement), forKey: .pathRegexRewrite)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .type) {
        case "RequestHeaderModifier": self = .requestHeaderModifier(try container.decode(GatewayHeaderModifier.self, forKey: .requestHeaderModifier))
        case "ResponseHeaderModifier": self = .responseHeaderModifier(try container.decode(GatewayHeaderModifier.self, forKey: .responseHeaderModifier))
        case "RequestRedirect": self = .requestRedirect(try container.decode(GatewayRequestRedirect.self, forKey: .requestRedirect))
        case "URLRewrite": self = .urlRewrite(try container.decode(GatewayURLRewrite.self, forKey: .urlRewrite))
        case "RequestMirror": self = .requestMirror(try container.decode(GatewayConfig.Backend.self, forKey: .requestMirror))
        case "PathRegexRewrite":
            let rewrite = try container.decode(RegexRewrite.self, forKey: .pathRegexRewrite)
            self = .pathRegexRewrite(pattern: rewrite.pattern, replacement: rewrite.replacement)
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "unknown filter type \(other)")
        }
    }
}

extension GatewayPathModifier {
    private enum CodingKeys: String, CodingKey {
        case type, replaceFullPath, replacePrefixMatch
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .replaceFullPath(let path):
            try container.encode("ReplaceFullPath", forKey: .type)
            try container.encode(path, forKey: .replaceFullPath)
        case .replacePrefixMatch(let prefix):
            try container.encode("ReplacePrefixMatch", forKey: .type)
            try container.encode(prefix, forKey: .replacePrefixMatch)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .type) {
        case "ReplaceFullPath": self = .replaceFullPath(try container.decode(String.self, forKey: .replaceFullPath))
        case "ReplacePrefixMatch": self = .replacePrefixMatch(try container.decode(String.self, forKey: .replacePrefixMatch))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "unknown path modifier type \(other)")
        }
    }
}
