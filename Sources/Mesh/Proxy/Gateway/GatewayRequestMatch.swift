import MeshModel

/// One match of a gateway route rule, compiled: an HTTPRoute's path (Exact, element-wise
/// PathPrefix, RegularExpression), headers, query parameters and method, or a GRPCRoute's
/// service and method (the `/service/method` path of a gRPC call) and headers. Every part given
/// must hold. Names of headers compare case-insensitively, values and paths exactly.
struct GatewayRequestMatch: Sendable {
    enum Path: Sendable {
        case exact(String)
        /// Without its trailing `/`; empty matches every path.
        case prefix(String)
        case regex(PatternMatcher)
        /// GRPCRoute: `/service/method`; nil parts match any.
        case grpc(service: PatternMatcher?, method: PatternMatcher?)
    }

    var path: Path
    var headers: [HeaderMatcher]
    var queryParams: [HeaderMatcher]
    var method: String?

    /// The part of the path a prefix match matched, as `ReplacePrefixMatch` replaces it (nil for other kinds).
    var matchedPrefix: String? {
        if case .prefix(let prefix) = path { return prefix.isEmpty ? "/" : prefix }
        return nil
    }

    func matches(_ head: HTTPRequestHead) -> Bool {
        if let method, method != head.method { return false }
        let (pathPart, query) = PathModifier.split(head.path)
        guard matches(path: pathPart) else { return false }
        for header in headers {
            guard let value = head.header(header.name), header.value.matches(Substring(value)) else { return false }
        }
        if !queryParams.isEmpty {
            let parameters = GatewayRequestMatch.queryParameters(query)
            for parameter in queryParams {
                guard let value = parameters.first(where: { $0.name == parameter.name })?.value, parameter.value.matches(value) else { return false }
            }
        }
        return true
    }

    func matches(path: Substring) -> Bool {
        switch self.path {
        case .exact(let exact):
            return path == exact
        case .prefix(let prefix):
            guard path.hasPrefix(prefix) else { return false }
            let rest = path.dropFirst(prefix.count)
            return rest.isEmpty || rest.hasPrefix("/")
        case .regex(let matcher):
            return matcher.matches(path)
        case let .grpc(service, method):
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0].isEmpty else { return false }
            return (service?.matches(parts[1]) ?? true) && (method?.matches(parts[2]) ?? true)
        }
    }

    /// `?a=1&b=2` as name/value pairs in order (the first of a repeated name is the one matched,
    /// as the Gateway API leaves repeated names to the implementation).
    static func queryParameters(_ query: Substring) -> [(name: Substring, value: Substring)] {
        query.dropFirst().split(separator: "&").map { pair in
            guard let equals = pair.firstIndex(of: "=") else { return (pair, "") }
            return (pair[..<equals], pair[pair.index(after: equals)...])
        }
    }
}

extension GatewayRequestMatch {
    /// An HTTPRoute match; a bad regex rejects the config.
    init(compiling match: GatewayHTTPRouteMatch, _ context: String) throws(ConfigRejection) {
        switch match.path.type {
        case .exact: path = .exact(match.path.value)
        case .pathPrefix: path = .prefix(match.path.value.hasSuffix("/") ? String(match.path.value.dropLast()) : match.path.value)
        case .regularExpression: path = .regex(try GatewayRequestMatch.regex(match.path.value, "\(context) path"))
        }
        headers = try GatewayRequestMatch.values(match.headers, lowercasedNames: true, "\(context) headers")
        queryParams = try GatewayRequestMatch.values(match.queryParams, lowercasedNames: false, "\(context) queryParams")
        method = match.method
    }

    /// A GRPCRoute match.
    init(compiling match: GatewayGRPCRouteMatch, _ context: String) throws(ConfigRejection) {
        func part(_ value: String?, _ field: String) throws(ConfigRejection) -> PatternMatcher? {
            guard let value else { return nil }
            return match.type == .exact ? .exact(value) : try GatewayRequestMatch.regex(value, "\(context) \(field)")
        }
        path = .grpc(service: try part(match.service, "service"), method: try part(match.method, "method"))
        headers = try GatewayRequestMatch.values(match.headers, lowercasedNames: true, "\(context) headers")
        queryParams = []
        method = nil
    }

    static func regex(_ pattern: String, _ context: String) throws(ConfigRejection) -> PatternMatcher {
        do {
            return try PatternMatcher(compiling: pattern)
        } catch {
            throw ConfigRejection(description: "\(context): \(error.description)")
        }
    }

    static func values(_ matches: [GatewayValueMatch], lowercasedNames: Bool, _ context: String) throws(ConfigRejection) -> [HeaderMatcher] {
        var result: [HeaderMatcher] = []
        for match in matches {
            let value: PatternMatcher = match.type == .exact ? .exact(match.value) : try regex(match.value, context)
            result.append(HeaderMatcher(name: lowercasedNames ? match.name.lowercased() : match.name, value: value))
        }
        return result
    }
}
