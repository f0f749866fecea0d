import MeshModel

/// FSM kinds: MeshConfig (`config.flomesh.io`), UpstreamTrafficSetting and Retry
/// (`policy.flomesh.io/v1alpha1`).
extension ManifestDecoder {
    // MARK: - MeshConfig

    /// Every key of the guide's table. Wrong types are worded as FSM's CRD validation words them.
    /// Keys of FSM's MeshConfig the mesh does not model are accepted and ignored; keys that are not
    /// FSM's are rejected by the schema.
    static func meshConfig(_ document: YAMLReader) throws(ManifestError) -> MeshConfig {
        let metadata = try metadata(document, namespace: .defaulted(meshConfigNamespace))
        var config = MeshConfig(metadata: metadata)
        guard var spec = try document.optional("spec") else { return config }
        // Children inherit the style, so every type error below reads like FSM's.
        spec.typeErrorStyle = .kubernetesSchema
        if !spec.isMapping { throw spec.typeMismatch(expected: .mapping) }

        if let traffic = try spec.optional("traffic") {
            var t = MeshConfig.Traffic()
            t.enableEgress = try traffic.optional("enableEgress")?.bool() ?? t.enableEgress
            t.enablePermissiveTrafficPolicyMode = try traffic.optional("enablePermissiveTrafficPolicyMode")?.bool() ?? t.enablePermissiveTrafficPolicyMode
            t.useHTTPSIngress = try traffic.optional("useHTTPSIngress")?.bool() ?? t.useHTTPSIngress
            t.outboundPortExclusionList = try traffic.optional("outboundPortExclusionList")?.intList(in: portRange) ?? []
            t.inboundPortExclusionList = try traffic.optional("inboundPortExclusionList")?.intList(in: portRange) ?? []
            t.outboundIPRangeExclusionList = try cidrList(traffic.optional("outboundIPRangeExclusionList"))
            t.outboundIPRangeInclusionList = try cidrList(traffic.optional("outboundIPRangeInclusionList"))
            t.interceptionMode = try traffic.optional("interceptionMode")?.oneOf(TrafficInterceptionMode.self) ?? t.interceptionMode
            config.traffic = t
        }
        if let certificate = try spec.optional("certificate") {
            if let validity = try certificate.optional("serviceCertValidityDuration") {
                config.certificate.serviceCertValidityDuration = try validity.duration()
            }
        }
        if let observability = try spec.optional("observability") {
            config.observability.enableDebugServer = try observability.optional("enableDebugServer")?.bool() ?? false
            if let tracing = try observability.optional("tracing") {
                var t = MeshConfig.Tracing()
                t.enable = try tracing.optional("enable")?.bool() ?? t.enable
                t.address = try tracing.optionalString("address") ?? t.address
                t.endpoint = try tracing.optionalString("endpoint") ?? t.endpoint
                t.port = try tracing.optional("port")?.int(in: portRange) ?? t.port
                t.sampledFraction = try tracing.optional("sampledFraction")?.double(in: 0...1) ?? t.sampledFraction
                config.observability.tracing = t
            }
            if let logging = try observability.optional("remoteLogging") {
                var r = MeshConfig.RemoteLogging()
                r.enable = try logging.optional("enable")?.bool() ?? r.enable
                r.address = try logging.optionalString("address") ?? r.address
                r.port = try logging.optional("port")?.int(in: portRange) ?? r.port
                r.endpoint = try logging.optionalString("endpoint") ?? r.endpoint
                r.authorization = try logging.optionalString("authorization") ?? r.authorization
                r.sampledFraction = try logging.optional("sampledFraction").map(Self.fraction) ?? r.sampledFraction
                config.observability.remoteLogging = r
            }
        }
        if let sidecar = try spec.optional("sidecar") {
            var s = MeshConfig.Sidecar()
            s.enablePrivilegedInitContainer = try sidecar.optional("enablePrivilegedInitContainer")?.bool() ?? s.enablePrivilegedInitContainer
            s.logLevel = try sidecar.optional("logLevel")?.oneOf(["trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled"], caseInsensitive: true) ?? s.logLevel
            s.maxDataPlaneConnections = try sidecar.optional("maxDataPlaneConnections")?.int(in: 0...Int.max) ?? s.maxDataPlaneConnections
            s.configResyncInterval = try sidecar.optional("configResyncInterval")?.duration() ?? s.configResyncInterval
            s.sidecarImage = try sidecar.optionalString("sidecarImage") ?? s.sidecarImage
            if let resources = try sidecar.optional("resources") { s.resources = try resourceRequirements(resources) }
            config.sidecar = s
        }
        if let flags = try spec.optional("featureFlags") {
            var f = MeshConfig.FeatureFlags()
            f.enableEgressPolicy = try flags.optional("enableEgressPolicy")?.bool() ?? f.enableEgressPolicy
            f.enableAccessControlPolicy = try flags.optional("enableAccessControlPolicy")?.bool() ?? f.enableAccessControlPolicy
            f.enableRetryPolicy = try flags.optional("enableRetryPolicy")?.bool() ?? f.enableRetryPolicy
            f.enablePluginPolicy = try flags.optional("enablePluginPolicy")?.bool() ?? f.enablePluginPolicy
            f.enableAccessCertPolicy = try flags.optional("enableAccessCertPolicy")?.bool() ?? f.enableAccessCertPolicy
            config.featureFlags = f
        }
        return config
    }

    /// `{limits: {cpu: 500m, memory: 64Mi}, requests: {...}}` (a container's `resources`).
    static func resourceRequirements(_ node: YAMLReader) throws(ManifestError) -> ResourceRequirements {
        var result = ResourceRequirements()
        if let limits = try node.optional("limits") { result.limits = try quantities(limits) }
        if let requests = try node.optional("requests") { result.requests = try quantities(requests) }
        return result
    }

    private static func quantities(_ node: YAMLReader) throws(ManifestError) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in try node.entries() {
            let text = try value.scalarText()
            guard isQuantity(text) else {
                throw value.error("expected a Kubernetes quantity such as 100m, 64Mi or 1, found \(YAMLReader.quoted(text))")
            }
            result[name] = text
        }
        return result
    }

    /// A Kubernetes quantity: a decimal number, then an optional binary (Ki..Ei), decimal (m, k,
    /// M..E) or exponent (e3, E-2) suffix.
    static func isQuantity(_ text: String) -> Bool {
        var rest = Substring(text)
        if rest.first == "+" || rest.first == "-" { rest = rest.dropFirst() }
        let number = rest.prefix(while: { $0.isASCII && ($0.isNumber || $0 == ".") })
        guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, number != "." else { return false }
        let suffix = rest.dropFirst(number.count)
        let named: Set<Substring> = ["", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
        if named.contains(suffix) { return true }
        guard let marker = suffix.first, marker == "e" || marker == "E" else { return false }
        var exponent = suffix.dropFirst()
        if exponent.first == "+" || exponent.first == "-" { exponent = exponent.dropFirst() }
        return !exponent.isEmpty && exponent.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// IPv4 or IPv6 CIDRs such as `10.0.0.1/32`.
    static func cidrList(_ node: YAMLReader?) throws(ManifestError) -> [String] {
        guard let node else { return [] }
        var result: [String] = []
        for element in try node.elements() {
            let text = try element.string()
            if !isCIDR(text) { throw element.error("expected an IP range in CIDR notation such as 10.0.0.1/32, found \(YAMLReader.quoted(text))") }
            result.append(text)
        }
        return result
    }


    // MARK: - UpstreamTrafficSetting

    static func upstreamTrafficSetting(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> UpstreamTrafficSetting {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        let hostNode = try spec.required("host")
        let host = try hostNode.string()
        if host.isEmpty { throw hostNode.error("must not be empty") }

        var setting = UpstreamTrafficSetting(metadata: metadata, host: host)
        if let node = try spec.optional("connectionSettings") {
            setting.connectionSettings = try connectionSettings(node)
        }
        if let rateLimit = try spec.optional("rateLimit") {
            if let local = try rateLimit.optional("local") {
                var limit = LocalRateLimit()
                if let tcp = try local.optional("tcp") {
                    limit.tcp = TCPLocalRateLimit(
                        connections: try tcp.required("connections").int(in: uint32Range),
                        unit: try tcp.required("unit").oneOf(RateLimitUnit.self),
                        burst: try tcp.optional("burst")?.int(in: uint32Range)
                    )
                }
                if let http = try local.optional("http") {
                    limit.http = try httpLocalRateLimit(http)
                }
                setting.rateLimit = limit
            }
        }
        for route in try spec.optional("httpRoutes")?.elements() ?? [] {
            let pathNode = try route.required("path")
            let path = try pathNode.string()
            try validateRegex(path, at: pathNode)
            let rateLimit = try route.required("rateLimit")
            setting.httpRoutes.append(HTTPRouteRateLimit(path: path, rateLimit: try httpLocalRateLimit(try rateLimit.required("local"))))
        }
        return setting
    }

    static func httpLocalRateLimit(_ node: YAMLReader) throws(ManifestError) -> HTTPLocalRateLimit {
        var headers: [HeaderValue] = []
        for header in try node.optional("responseHeadersToAdd")?.elements() ?? [] {
            headers.append(HeaderValue(name: try header.string("name"), value: try header.string("value")))
        }
        return HTTPLocalRateLimit(
            requests: try node.required("requests").int(in: uint32Range),
            unit: try node.required("unit").oneOf(RateLimitUnit.self),
            burst: try node.optional("burst")?.int(in: uint32Range),
            responseStatusCode: try node.optional("responseStatusCode")?.int(in: 400...599) ?? 429,
            responseHeadersToAdd: headers
        )
    }

    static func connectionSettings(_ node: YAMLReader) throws(ManifestError) -> ConnectionSettings {
        var settings = ConnectionSettings()
        if let tcp = try node.optional("tcp") {
            settings.tcp.maxConnections = try tcp.optional("maxConnections")?.int(in: uint32Range) ?? settings.tcp.maxConnections
            settings.tcp.connectTimeout = try tcp.optional("connectTimeout")?.duration() ?? settings.tcp.connectTimeout
        }
        if let http = try node.optional("http") {
            settings.http.maxRequests = try http.optional("maxRequests")?.int(in: uint32Range) ?? settings.http.maxRequests
            settings.http.maxRequestsPerConnection = try http.optional("maxRequestsPerConnection")?.int(in: uint32Range)
            settings.http.maxPendingRequests = try http.optional("maxPendingRequests")?.int(in: uint32Range) ?? settings.http.maxPendingRequests
            settings.http.maxRetries = try http.optional("maxRetries")?.int(in: uint32Range) ?? settings.http.maxRetries
            if let breaking = try http.optional("circuitBreaking") {
                settings.http.circuitBreaking = try circuitBreaking(breaking)
            }
        }
        return settings
    }

    static func circuitBreaking(_ node: YAMLReader) throws(ManifestError) -> CircuitBreaking {
        var cb = CircuitBreaking()
        cb.statTimeWindow = try node.optional("statTimeWindow")?.duration() ?? cb.statTimeWindow
        cb.minRequestAmount = try node.optional("minRequestAmount")?.int(in: uint32Range) ?? cb.minRequestAmount
        cb.degradedTimeWindow = try node.optional("degradedTimeWindow")?.duration() ?? cb.degradedTimeWindow
        cb.slowTimeThreshold = try node.optional("slowTimeThreshold")?.duration() ?? cb.slowTimeThreshold
        cb.slowAmountThreshold = try node.optional("slowAmountThreshold")?.int(in: uint32Range)
        cb.slowRatioThreshold = try node.optional("slowRatioThreshold")?.double(in: 0...1)
        cb.errorAmountThreshold = try node.optional("errorAmountThreshold")?.int(in: uint32Range)
        cb.errorRatioThreshold = try node.optional("errorRatioThreshold")?.double(in: 0...1)
        cb.degradedStatusCode = try node.optional("degradedStatusCode")?.int(in: 100...599) ?? cb.degradedStatusCode
        cb.degradedResponseContent = try node.optionalString("degradedResponseContent") ?? cb.degradedResponseContent
        return cb
    }

    // MARK: - Retry

    static func retry(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> Retry {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        let source = try identityReference(try spec.required("source"), allowedKinds: ["ServiceAccount"], defaultNamespace: metadata.namespace)
        var destinations: [IdentityReference] = []
        for node in try nonEmptyElements(spec, "destinations") {
            destinations.append(try identityReference(node, allowedKinds: ["Service"], defaultNamespace: metadata.namespace))
        }
        var policy = RetryPolicy()
        if let node = try spec.optional("retryPolicy") {
            if let retryOn = try node.optional("retryOn") {
                policy.retryOn = try retryOnList(retryOn)
            }
            policy.perTryTimeout = try node.optional("perTryTimeout")?.duration()
            policy.numRetries = try node.optional("numRetries")?.int(in: 0...Int(UInt32.max)) ?? policy.numRetries
            policy.retryBackoffBaseInterval = try node.optional("retryBackoffBaseInterval")?.duration() ?? policy.retryBackoffBaseInterval
        }
        return Retry(metadata: metadata, source: source, destinations: destinations, retryPolicy: policy)
    }

    /// Envoy's `retry_on` condition names that the Retry resource passes on besides codes and classes.
    static let retryConditionNames: Set<Substring> = ["retriable-4xx", "gateway-error", "reset", "connect-failure", "refused-stream"]

    /// A comma list of `5xx`-style classes, single status codes, and Envoy's condition names
    /// (`retriable-4xx`, `gateway-error`, `reset`, `connect-failure`, `refused-stream`).
    static func retryOnList(_ node: YAMLReader) throws(ManifestError) -> String {
        let text = try node.scalarText()
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingASCIISpaces() }
        for item in items {
            let isClass = item.count == 3 && item.hasSuffix("xx") && ("1"..."5").contains(item.prefix(1))
            let isCode = Int(item).map { (100...599).contains($0) } == true
            if !(isClass || isCode || retryConditionNames.contains(item)) {
                throw node.error("expected a comma list of status classes (5xx), status codes (503) or retriable-4xx, gateway-error, reset, connect-failure, refused-stream; found \(YAMLReader.quoted(String(item)))")
            }
        }
        return items.joined(separator: ",")
    }
}

private extension Substring {
    func trimmingASCIISpaces() -> Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}

extension ManifestDecoder {
    /// A share from 0 to 1, written as a number or (FSM's CRD types it so) a numeric string.
    static func fraction(_ reader: YAMLReader) throws(ManifestError) -> Double {
        guard let text = try? reader.string(), let value = Double(text) else { return try reader.double(in: 0...1) }
        guard (0...1).contains(value) else { throw reader.error("expected a number from 0 to 1, got \(text)") }
        return value
    }
}
