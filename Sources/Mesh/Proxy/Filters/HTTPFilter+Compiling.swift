import MeshModel

extension HTTPFilter {
    /// A rule's route filters from config (`GatewayConfig.Filter`, the Gateway API's
    /// HTTPRouteFilter with the mirror's backend resolved), checked as the Gateway API constrains
    /// them; a mirror's cluster (`mirrorCluster` of its backend) must be among `clusters`. The
    /// first problem rejects the config.
    static func compile(_ configs: [GatewayConfig.Filter], clusters: Set<String>, mirrorCluster: (GatewayConfig.Backend) -> String,
                        context: String) throws(ConfigRejection) -> [HTTPFilter] {
        var result: [HTTPFilter] = []
        var redirects = 0, rewrites = 0
        for (index, config) in configs.enumerated() {
            let place = "\(context) filter \(index + 1) (\(config.typeName))"
            switch config {
            case .requestHeaderModifier(let modifier):
                result.append(.headerModifier(try HeaderModifierFilter(compiling: modifier, side: .request, place)))
            case .responseHeaderModifier(let modifier):
                result.append(.headerModifier(try HeaderModifierFilter(compiling: modifier, side: .response, place)))
            case .requestRedirect(let redirect):
                redirects += 1
                result.append(.requestRedirect(try RequestRedirectFilter(compiling: redirect, place)))
            case .urlRewrite(let rewrite):
                rewrites += 1
                result.append(.urlRewrite(try URLRewriteFilter(compiling: rewrite, place)))
            case .requestMirror(let backend):
                let cluster = mirrorCluster(backend)
                guard clusters.contains(cluster) else { throw ConfigRejection(description: "\(place): cluster \(cluster) is not in the config's clusters") }
                result.append(.requestMirror(RequestMirrorFilter(cluster: cluster)))
            case let .pathRegexRewrite(pattern, replacement):
                result.append(.pathRegexRewrite(try PathRegexRewriteFilter(compiling: pattern, replacement: replacement, place)))
            }
        }
        // The Gateway API: at most one of each, and a redirect and a rewrite never together.
        guard redirects <= 1, rewrites <= 1, redirects + rewrites <= 1 else {
            throw ConfigRejection(description: "\(context): RequestRedirect and URLRewrite may appear once, and not together")
        }
        return result
    }
}

extension HeaderModifierFilter {
    init(compiling config: GatewayHeaderModifier, side: Side, _ context: String) throws(ConfigRejection) {
        for (field, names) in [("set", config.set.map(\.name)), ("add", config.add.map(\.name)), ("remove", config.remove)] {
            var seen: Set<String> = []
            for name in names {
                guard HeaderModifierFilter.isToken(name) else {
                    throw ConfigRejection(description: "\(context): \(field): \"\(name)\" is not a header name")
                }
                guard seen.insert(name.lowercased()).inserted else {
                    throw ConfigRejection(description: "\(context): \(field): header \(name) appears twice")
                }
            }
        }
        self.init(side: side, set: config.set.map { HTTPHeader(name: $0.name, value: $0.value) },
                  add: config.add.map { HTTPHeader(name: $0.name, value: $0.value) }, remove: config.remove)
    }

    /// RFC 9110's token: visible ASCII without separators.
    static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            byte > 32 && byte < 127 && !"\"(),/:;<=>?@[\\]{}".utf8.contains(byte)
        }
    }
}

extension PathModifier {
    init(compiling config: GatewayPathModifier, _ context: String) throws(ConfigRejection) {
        switch config {
        case .replaceFullPath(let path):
            guard path.hasPrefix("/") else { throw ConfigRejection(description: "\(context): path: replaceFullPath \"\(path)\" must start with /") }
            self = .replaceFullPath(path)
        case .replacePrefixMatch(let prefix):
            guard prefix.isEmpty || prefix.hasPrefix("/") else {
                throw ConfigRejection(description: "\(context): path: replacePrefixMatch \"\(prefix)\" must start with /")
            }
            self = .replacePrefixMatch(prefix)
        }
    }
}

extension RequestRedirectFilter {
    static let statusCodes = [301, 302]

    init(compiling config: GatewayRequestRedirect, _ context: String) throws(ConfigRejection) {
        if let scheme = config.scheme, RequestRedirectFilter.wellKnownPort(scheme) == nil {
            throw ConfigRejection(description: "\(context): scheme \"\(scheme)\": expected http or https")
        }
        if let port = config.port, !(1...65535).contains(port) {
            throw ConfigRejection(description: "\(context): port \(port): expected 1-65535")
        }
        guard RequestRedirectFilter.statusCodes.contains(config.statusCode) else {
            throw ConfigRejection(description: "\(context): statusCode \(config.statusCode): expected 301 or 302")
        }
        if let hostname = config.hostname { try URLRewriteFilter.checkHostname(hostname, context) }
        self.init(scheme: config.scheme, hostname: config.hostname, path: try config.path.map { c throws(ConfigRejection) in try PathModifier(compiling: c, context) },
                  port: config.port, statusCode: config.statusCode)
    }
}

extension URLRewriteFilter {
    init(compiling config: GatewayURLRewrite, _ context: String) throws(ConfigRejection) {
        if let hostname = config.hostname { try URLRewriteFilter.checkHostname(hostname, context) }
        self.init(hostname: config.hostname, path: try config.path.map { c throws(ConfigRejection) in try PathModifier(compiling: c, context) })
    }

    /// A DNS name as the Gateway API's PreciseHostname: lower-case letters, digits, `-` and `.`.
    static func checkHostname(_ hostname: String, _ context: String) throws(ConfigRejection) {
        let valid = !hostname.isEmpty && hostname.count <= 253 && hostname.utf8.allSatisfy { byte in
            (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte == 45 || byte == 46
        }
        guard valid else { throw ConfigRejection(description: "\(context): hostname \"\(hostname)\": expected a lower-case DNS name") }
    }
}

extension FaultInjectionFilter {
    /// FaultInjectionPolicy's config (F2-021): `delay` (`percent`, `fixed` or `range`, in `unit`)
    /// and `abort` (`percent`, `statusCode`, `message`).
    init(compiling config: GatewayFaultInjection, _ context: String) throws(ConfigRejection) {
        guard config.delay != nil || config.abort != nil else { throw ConfigRejection(description: "\(context): expected delay or abort") }
        self.init(delay: try config.delay.map { d throws(ConfigRejection) in try Delay(compiling: d, context) },
                  abort: try config.abort.map { a throws(ConfigRejection) in try Abort(compiling: a, context) })
    }

    static func checkPercent(_ percent: Int, _ field: String, _ context: String) throws(ConfigRejection) {
        guard (0...100).contains(percent) else { throw ConfigRejection(description: "\(context): \(field).percent \(percent): expected 0-100") }
    }
}

extension FaultInjectionFilter.Delay {
    static let units: [GatewayDelayUnit: MeshDuration] = [.ms: .milliseconds(1), .s: .seconds(1), .m: .seconds(60)]
    /// An hour: longer than any route timeout a fault should outlast.
    static let longest = MeshDuration.seconds(3600)

    init(compiling config: GatewayFaultDelay, _ context: String) throws(ConfigRejection) {
        try FaultInjectionFilter.checkPercent(config.percent, "delay", context)
        guard let unit = FaultInjectionFilter.Delay.units[config.unit] else {
            throw ConfigRejection(description: "\(context): delay.unit \"\(config.unit.rawValue)\": expected ms, s or m")
        }
        let bounds: (Int, Int)
        switch (config.fixed, config.rangeMin) {
        case (let fixed?, nil): bounds = (fixed, fixed)
        case (nil, let min?): bounds = (min, config.rangeMax ?? min)
        default: throw ConfigRejection(description: "\(context): delay: expected one of fixed or range")
        }
        let longest = FaultInjectionFilter.Delay.longest.nanoseconds / unit.nanoseconds
        guard bounds.0 >= 0, bounds.0 <= bounds.1, Int64(bounds.1) <= longest else {
            throw ConfigRejection(description: "\(context): delay: expected 0 <= min <= max <= 1h, got \(bounds.0)-\(bounds.1)\(config.unit.rawValue)")
        }
        self.init(percent: config.percent, min: MeshDuration(nanoseconds: Int64(bounds.0) * unit.nanoseconds),
                  max: MeshDuration(nanoseconds: Int64(bounds.1) * unit.nanoseconds))
    }
}

extension FaultInjectionFilter.Abort {
    init(compiling config: GatewayFaultAbort, _ context: String) throws(ConfigRejection) {
        try FaultInjectionFilter.checkPercent(config.percent, "abort", context)
        guard (200...599).contains(config.statusCode) else {
            throw ConfigRejection(description: "\(context): abort.statusCode \(config.statusCode): expected 200-599")
        }
        self.init(percent: config.percent, status: config.statusCode, message: config.message)
    }
}

extension HTTPFilterChain {
    /// A direction's listener-level chain from its names in the config (`Spec.Chains`), or the
    /// default table when the config names none. Each name at most once; `http-routing` first,
    /// since every other filter acts on the route it chooses.
    static func compile(_ names: [String]?, inbound: Bool) throws(ConfigRejection) -> HTTPFilterChain {
        let fallback = inbound ? HTTPFilterChain.sidecarInbound : HTTPFilterChain.sidecarOutbound
        guard let names else { return fallback }
        let direction = inbound ? "InboundHTTP" : "OutboundHTTP"
        let known = inbound ? HTTPChainsConfig.inboundNames : HTTPChainsConfig.outboundNames
        var filters: [HTTPFilter] = []
        for (index, name) in names.enumerated() {
            guard let position = known.firstIndex(of: name) else {
                throw ConfigRejection(description: "Spec.Chains.\(direction)[\(index)]: unknown filter \"\(name)\", expected one of \(known.joined(separator: ", "))")
            }
            guard names.firstIndex(of: name) == index else {
                throw ConfigRejection(description: "Spec.Chains.\(direction)[\(index)]: \(name) appears twice")
            }
            filters.append(fallback.filters[position])
        }
        guard names.first == "http-routing" else {
            throw ConfigRejection(description: "Spec.Chains.\(direction): expected http-routing first (the other filters act on the route it chooses)")
        }
        return HTTPFilterChain(filters: filters)
    }
}
