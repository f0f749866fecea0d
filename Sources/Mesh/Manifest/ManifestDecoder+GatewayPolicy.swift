import MeshModel

/// FSM Gateway's policies (`gateway.flomesh.io/v1alpha1`): one decoder for the ten kinds, whose
/// levels and settings `policySpec(_:)` states. Defaults are FSM's CRD defaults (RateLimit backlog
/// 10 and status 429, AccessControl status 403, Retry 3 retries at a 1 s base, delay unit ms).
extension ManifestDecoder {
    static func gatewayPolicy(_ document: YAMLReader, kind: GatewayPolicyKind, defaultNamespace: String) throws(ManifestError) -> GatewayPolicy {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        let targetNode = try spec.required("targetRef")
        let target = GatewayPolicyTargetRef(group: try targetNode.optionalString("group") ?? "", kind: try targetNode.required("kind").oneOf(kind.targetKinds),
                                            name: try targetNode.string("name"), namespace: try targetNode.optionalString("namespace") ?? metadata.namespace)
        try checkTargetGroup(target, at: targetNode)
        let unit = try spec.optional("unit")?.oneOf(GatewayDelayUnit.self) ?? .ms
        var policy = GatewayPolicy(kind: kind, metadata: metadata, targetRef: target)
        for node in try spec.optional("ports")?.elements() ?? [] {
            let portNode = try node.required("port")
            let port = try portNode.int(in: portRange)
            if policy.ports.contains(where: { $0.port == port }) { throw portNode.error("duplicate port \(port)") }
            let config = kind == .loadBalancer ? try node.optional("type").map { n throws(ManifestError) in try policyConfig(n, kind: kind, unit: unit) }
                : try node.optional("config").map { n throws(ManifestError) in try policyConfig(n, kind: kind, unit: unit) }
            policy.ports.append(GatewayPolicyPort(port: port, bps: try node.optional("bps")?.int(in: 1...Int.max), config: config))
        }
        for node in try spec.optional("hostnames")?.elements() ?? [] {
            guard let hostname = try gatewayHostname(try node.required("hostname")) else { continue }
            policy.hostnames.append(GatewayPolicyHostname(hostname: hostname, config: try optionalConfig(node, kind: kind, unit: unit)))
        }
        for node in try spec.optional("http")?.elements() ?? [] {
            policy.http.append(GatewayPolicyHTTPMatch(match: try httpRouteMatch(try node.required("match")), config: try optionalConfig(node, kind: kind, unit: unit)))
        }
        for node in try spec.optional("grpc")?.elements() ?? [] {
            policy.grpc.append(GatewayPolicyGRPCMatch(match: try grpcRouteMatch(try node.required("match")), config: try optionalConfig(node, kind: kind, unit: unit)))
        }
        let defaultKey = kind == .loadBalancer ? "type" : "config"
        policy.defaultConfig = try spec.optional(defaultKey).map { n throws(ManifestError) in try policyConfig(n, kind: kind, unit: unit) }
        policy.defaultBPS = try spec.optional("bps")?.int(in: 1...Int.max)
        if policy.ports.isEmpty && policy.hostnames.isEmpty && policy.http.isEmpty && policy.grpc.isEmpty && policy.defaultConfig == nil && policy.defaultBPS == nil {
            throw spec.error("\(kind.rawValue) sets nothing: give ports, hostnames, http, grpc or a default")
        }
        return policy
    }

    /// A Service target is in the core group (`""`); a Gateway or route target in the Gateway API's.
    private static func checkTargetGroup(_ target: GatewayPolicyTargetRef, at node: YAMLReader) throws(ManifestError) {
        let expected: [String] = switch target.kind {
        case "Service": [""]
        case "ServiceImport": ["flomesh.io"]
        default: [GatewayAPI.group]
        }
        if !expected.contains(target.group) {
            throw ManifestError(at: node.location, path: node.path + ".group",
                                message: "a \(target.kind) target is in group \(YAMLReader.quoted(expected[0])), found \(YAMLReader.quoted(target.group))")
        }
    }

    private static func optionalConfig(_ node: YAMLReader, kind: GatewayPolicyKind, unit: GatewayDelayUnit) throws(ManifestError) -> GatewayPolicyConfig? {
        guard let config = try node.optional("config") else { return nil }
        return try policyConfig(config, kind: kind, unit: unit)
    }

    static func policyConfig(_ node: YAMLReader, kind: GatewayPolicyKind, unit: GatewayDelayUnit) throws(ManifestError) -> GatewayPolicyConfig {
        switch kind {
        case .rateLimit: return .rateLimit(try rateLimitConfig(node))
        case .accessControl: return .accessControl(try accessControlConfig(node))
        case .loadBalancer: return .loadBalancer(try node.oneOf(GatewayLoadBalancerType.self))
        case .sessionSticky:
            return .sessionSticky(GatewaySessionSticky(cookieName: try node.optionalString("cookieName") ?? "_srv_id",
                                                       expires: try node.optional("expires")?.int(in: 1...Int(Int32.max)) ?? 3600))
        case .healthCheck: return .healthCheck(try healthCheckConfig(node))
        case .faultInjection: return .faultInjection(try faultInjectionConfig(node, unit: unit))
        case .retry:
            return .retry(GatewayRetry(retryOn: try retryCodes(try node.required("retryOn")),
                                       numRetries: try node.optional("numRetries")?.int(in: 1...Int(Int32.max)) ?? 3,
                                       backoffBaseInterval: try node.optional("backoffBaseInterval")?.double(in: 0.001...1e9) ?? 1))
        case .upstreamTLS, .gatewayTLS:
            let settings = GatewayTLSSettings(
                certificateRef: try node.optional("certificateRef").map { n throws(ManifestError) in
                    try objectReference(n, defaultGroup: "", defaultKind: "Secret", namespace: "")
                },
                mTLS: try node.optional("mTLS")?.bool() ?? false)
            return kind == .upstreamTLS ? .upstreamTLS(settings) : .gatewayTLS(settings)
        case .circuitBreaking: return .circuitBreaking(try circuitBreakingConfig(node))
        }
    }

    static func rateLimitConfig(_ node: YAMLReader) throws(ManifestError) -> GatewayRateLimit {
        var headers: [GatewayHeader] = []
        for header in try node.optional("responseHeadersToAdd")?.elements() ?? [] {
            headers.append(GatewayHeader(name: try header.string("name"), value: try header.string("value")))
        }
        let positive = 1...Int(Int32.max)
        return GatewayRateLimit(
            mode: try node.optional("mode")?.oneOf(["Local", "Global"]) ?? "Local",
            backlog: try node.optional("backlog")?.int(in: positive) ?? 10,
            requests: try node.required("requests").int(in: positive),
            burst: try node.optional("burst")?.int(in: positive),
            statTimeWindow: try node.required("statTimeWindow").int(in: positive),
            responseStatusCode: try node.optional("responseStatusCode")?.int(in: 1...10000) ?? 429,
            responseHeadersToAdd: headers)
    }

    static func accessControlConfig(_ node: YAMLReader) throws(ManifestError) -> GatewayAccessControl {
        GatewayAccessControl(blacklist: try addressList(node.optional("blacklist")), whitelist: try addressList(node.optional("whitelist")),
                             enableXFF: try node.optional("enableXFF")?.bool() ?? false,
                             statusCode: try node.optional("statusCode")?.int(in: 1...10000) ?? 403,
                             message: try node.optionalString("message") ?? "")
    }

    /// IP addresses (`112.94.5.242`) or ranges in CIDR notation (`192.168.0.0/24`).
    static func addressList(_ node: YAMLReader?) throws(ManifestError) -> [String] {
        var result: [String] = []
        for element in try node?.elements() ?? [] {
            let text = try element.string()
            let asRange = text.contains("/") ? text : text + (text.contains(":") ? "/128" : "/32")
            if !isCIDR(asRange) { throw element.error("expected an IP address or a CIDR range such as 10.0.0.0/8, found \(YAMLReader.quoted(text))") }
            result.append(text)
        }
        return result
    }

    static func healthCheckConfig(_ node: YAMLReader) throws(ManifestError) -> GatewayHealthCheck {
        var check = GatewayHealthCheck(interval: try node.required("interval").int(in: 1...Int(Int32.max)),
                                       maxFails: try node.required("maxFails").int(in: 0...Int(Int32.max)),
                                       failTimeout: try node.optional("failTimeout")?.int(in: 0...Int(Int32.max)), path: try node.optionalString("path"))
        for match in try node.optional("matches")?.elements() ?? [] {
            var headers: [GatewayHeader] = []
            for header in try match.optional("headers")?.elements() ?? [] {
                headers.append(GatewayHeader(name: try header.string("name"), value: try header.string("value")))
            }
            check.matches.append(GatewayHealthCheckMatch(statusCodes: try match.optional("statusCodes")?.intList(in: 100...599) ?? [],
                                                         body: try match.optionalString("body"), headers: headers))
        }
        return check
    }

    static func faultInjectionConfig(_ node: YAMLReader, unit: GatewayDelayUnit) throws(ManifestError) -> GatewayFaultInjection {
        var fault = GatewayFaultInjection()
        if let delay = try node.optional("delay") {
            var value = GatewayFaultDelay(percent: try delay.optional("percent")?.int(in: 0...100) ?? 0, fixed: try delay.optional("fixed")?.int(in: 0...Int(Int32.max)),
                                          unit: try delay.optional("unit")?.oneOf(GatewayDelayUnit.self) ?? unit)
            if let range = try delay.optional("range") {
                let low = try range.required("min").int(in: 0...Int(Int32.max))
                let highNode = try range.required("max")
                let high = try highNode.int(in: 1...Int(Int32.max))
                if high < low { throw highNode.error("max must be at least min (\(low)), found \(high)") }
                (value.rangeMin, value.rangeMax) = (low, high)
            }
            if value.fixed == nil && value.rangeMin == nil { throw delay.error("a delay needs fixed or range") }
            fault.delay = value
        }
        if let abort = try node.optional("abort") {
            fault.abort = GatewayFaultAbort(percent: try abort.optional("percent")?.int(in: 0...100) ?? 0,
                                            statusCode: try abort.optional("statusCode")?.int(in: 1...10000) ?? 500, message: try abort.optionalString("message"))
        }
        if fault.delay == nil && fault.abort == nil { throw node.error("a fault needs delay, abort or both") }
        return fault
    }

    /// `5xx`-style classes or single codes (RetryPolicy `retryOn`).
    static func retryCodes(_ node: YAMLReader) throws(ManifestError) -> [String] {
        var result: [String] = []
        for element in try node.elements() {
            let text = try element.scalarText()
            let isClass = text.count == 3 && text.hasSuffix("xx") && ("1"..."5").contains(text.prefix(1))
            let isCode = Int(text).map { (100...599).contains($0) } == true
            if !(isClass || isCode) { throw element.error("expected a status class such as 5xx or a status code such as 503, found \(YAMLReader.quoted(text))") }
            result.append(text)
        }
        if result.isEmpty { throw node.error("must have at least one element") }
        return result
    }

    static func circuitBreakingConfig(_ node: YAMLReader) throws(ManifestError) -> GatewayCircuitBreaking {
        let positive = 1...Int(Int32.max)
        return GatewayCircuitBreaking(
            minRequestAmount: try node.required("minRequestAmount").int(in: positive), statTimeWindow: try node.required("statTimeWindow").int(in: positive),
            slowTimeThreshold: try node.optional("slowTimeThreshold")?.double(in: 0.0001...1e9),
            slowAmountThreshold: try node.optional("slowAmountThreshold")?.int(in: positive), slowRatioThreshold: try node.optional("slowRatioThreshold")?.double(in: 0...1),
            errorAmountThreshold: try node.optional("errorAmountThreshold")?.int(in: positive), errorRatioThreshold: try node.optional("errorRatioThreshold")?.double(in: 0...1),
            degradedTimeWindow: try node.required("degradedTimeWindow").int(in: positive), degradedStatusCode: try node.required("degradedStatusCode").int(in: 1...10000),
            degradedResponseContent: try node.optionalString("degradedResponseContent"))
    }
}
