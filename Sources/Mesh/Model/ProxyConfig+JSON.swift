/// The Pipy `config.json` shape of a `ProxyConfig`, as the guides print it (`fsm proxy get config_dump`).
///
/// Map-shaped objects (`TrafficMatches`, `HttpHostPort2Service`, `TargetClusters`, `ClustersConfigs`,
/// `Endpoints`, `Headers`) print their keys sorted as strings, like Go's `encoding/json` does for maps,
/// so the output is deterministic. Empty maps print as `null` (Go's nil map), as in the guides.
///
/// Additions beyond the guides' snippets, printed only when set: `RateLimit` on an inbound traffic
/// match (`rateLimit.local.tcp`) and on a route (`httpRoutes[].rateLimit`), `HttpRateLimits`
/// (service FQDN -> `rateLimit.local.http`) on an inbound traffic match, `ConnectionSettings` and
/// `RetryPolicy` on a cluster, `Chains` in `Spec` (HTTPChainsConfig). Durations print as seconds.
extension ProxyConfig {
    public var jsonValue: JSONValue {
        .object([
            ("Version", .string(version)),
            ("Spec", spec.jsonValue(serviceIdentity: serviceIdentity)),
            ("Inbound", inbound.jsonValue),
            ("Outbound", outbound.jsonValue),
        ])
    }

    /// The text a proxy is sent. The compact form is written from the outbound's shared stores
    /// (`OutboundConfig+Rendering.swift`), with the same bytes as `jsonValue.rendered()`.
    public func renderedJSON(pretty: Bool = false) -> String {
        pretty ? jsonValue.rendered(pretty: true) : compactJSON()
    }

    /// `renderedJSON().utf8.count` (compact) without building the text: the outbound's shared
    /// stores remember their sizes, so measuring many configs of one catalog costs little more
    /// than measuring one.
    public var renderedByteCount: Int {
        // {"Version":...,"Spec":...,"Inbound":...,"Outbound":...}
        var count = 2 + 3
        for key in ["Version", "Spec", "Inbound", "Outbound"] { count += JSONValue.quotedByteCount(key) + 1 }
        return count + JSONValue.quotedByteCount(version) + spec.jsonValue(serviceIdentity: serviceIdentity).renderedByteCount
            + inbound.jsonValue.renderedByteCount + outbound.renderedByteCount
    }

    private func compactJSON() -> String {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"Version":"#.utf8)
        JSONValue.writeString(version, into: &out)
        out.append(contentsOf: #","Spec":"#.utf8)
        spec.jsonValue(serviceIdentity: serviceIdentity).write(into: &out, pretty: false, indent: 0)
        out.append(contentsOf: #","Inbound":"#.utf8)
        inbound.jsonValue.write(into: &out, pretty: false, indent: 0)
        out.append(contentsOf: #","Outbound":"#.utf8)
        outbound.writeCompact(into: &out)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

extension ProxySpec {
    /// `Workload` comes first when set (`ProxyWorkload.spliced(into:)` relies on it).
    public func jsonValue(serviceIdentity: String) -> JSONValue {
        var pairs: [(String, JSONValue)] = workload.map { [("Workload", $0.jsonValue)] } ?? []
        pairs += [
            ("ServiceIdentity", .string(serviceIdentity)),
            ("SidecarLogLevel", .string(sidecarLogLevel)),
            ("Traffic", .object([
                ("EnableEgress", .bool(enableEgress)),
                ("EnablePermissiveTrafficPolicyMode", .bool(enablePermissiveTrafficPolicyMode)),
            ])),
            ("FeatureFlags", .object([("EnableRetryPolicy", .bool(enableRetryPolicy))])),
        ]
        if accessLog { pairs.append(("Observability", .object([("RemoteLogging", .object([("Enable", .bool(true))] + remoteLoggingPairs))]))) }
        if let chains { pairs.append(("Chains", chains.jsonValue)) }
        if let tracing {
            pairs.append(("Tracing", .object([("Address", .string(tracing.address)), ("Endpoint", .string(tracing.endpoint)),
                                              ("SampledFraction", .double(tracing.sampledFraction))])))
        }
        if let egressPolicy { pairs.append(("EgressPolicy", egressPolicy.jsonValue)) }
        if let egressGateway { pairs.append(("EgressGateway", egressGateway.jsonValue)) }
        if !egressRefusedRanges.isEmpty { pairs.append(("EgressRefusedRanges", .array(egressRefusedRanges.map(JSONValue.string)))) }
        return .object(pairs)
    }

    private var remoteLoggingPairs: [(String, JSONValue)] {
        guard let remoteLogging else { return [] }
        return [("Address", .string(remoteLogging.address)), ("Endpoint", .string(remoteLogging.endpoint)),
                ("Authorization", .string(remoteLogging.authorization)), ("SampledFraction", .double(remoteLogging.sampledFraction))]
    }
}

extension InboundConfig {
    public var jsonValue: JSONValue {
        let matches = JSONValue.sortedMap(trafficMatches.map { (String($0.port), $0.jsonValue) })
        return .object([
            ("TrafficMatches", matches),
            ("ClustersConfigs", JSONValue.sortedMap(clustersConfigs.map { ($0.name, $0.jsonValue) })),
        ])
    }
}

extension OutboundConfig {
    public var jsonValue: JSONValue {
        // Several matches share a port: group them, keeping the config's order inside a port.
        var byPort: [(String, [JSONValue])] = []
        var index: [Int: Int] = [:]
        forEachTrafficMatch { match in
            if let i = index[match.port] {
                byPort[i].1.append(match.jsonValue)
            } else {
                index[match.port] = byPort.count
                byPort.append((String(match.port), [match.jsonValue]))
            }
        }
        return .object([
            ("TrafficMatches", JSONValue.sortedMap(byPort.map { ($0.0, JSONValue.array($0.1)) })),
            ("ClustersConfigs", OutboundConfig.clustersJSON(clusterStore.items)),
        ])
    }

    static func clustersJSON(_ clusters: [ClusterConfig]) -> JSONValue {
        JSONValue.sortedMap(clusters.map { ($0.name, $0.jsonValue) })
    }
}

extension OutboundTrafficMatch {
    public var jsonValue: JSONValue {
        .object(unstampedJSONPairs + [
            ("AllowedEgressTraffic", .bool(allowedEgressTraffic)),
            ("ServiceIdentity", .string(serviceIdentity)),
        ])
    }

    /// Every member but the client's stamp (the last two), which the configs of one catalog share.
    private var unstampedJSONPairs: [(String, JSONValue)] {
        [
            ("DestinationIPRanges", .array(destinationIPRanges.map { .string($0) })),
            ("Port", .int(port)),
            ("Protocol", .string(appProtocol.rawValue)),
            ("HttpHostPort2Service", JSONValue.hostMap(httpHostPort2Service)),
            ("HttpServiceRouteRules", JSONValue.routeRules(httpServiceRouteRules)),
            ("TargetClusters", targetClusters.map(JSONValue.clusters) ?? .null),
        ]
    }

    /// `{"DestinationIPRanges":...,"TargetClusters":...}`: the JSON before the client's stamp,
    /// whose closing brace the stamp replaces.
    var stampPrefix: JSONValue { .object(unstampedJSONPairs) }
}

extension InboundTrafficMatch {
    public var jsonValue: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("SourceIPRanges", sourceIPRanges.map { .array($0.map { .string($0) }) } ?? .null),
            ("Port", .int(port)),
            ("Protocol", .string(appProtocol.rawValue)),
            ("HttpHostPort2Service", JSONValue.hostMap(httpHostPort2Service)),
            ("HttpServiceRouteRules", JSONValue.routeRules(httpServiceRouteRules)),
            ("TargetClusters", targetClusters.map(JSONValue.clusters) ?? .null),
            ("AllowedEndpoints", allowedEndpoints.map { .array($0.map { .string($0) }) } ?? .null),
        ]
        if let tcpRateLimit { pairs.append(("RateLimit", tcpRateLimit.jsonValue)) }
        if let ingress { pairs.append(("IngressBackend", ingress.jsonValue)) }
        if let accessControl { pairs.append(("AccessControl", accessControl.jsonValue)) }
        let serviceLimits = httpServiceRouteRules.compactMap { rules in rules.rateLimit.map { (rules.service, $0.jsonValue) } }
        if !serviceLimits.isEmpty { pairs.append(("HttpRateLimits", JSONValue.sortedMap(serviceLimits))) }
        return .object(pairs)
    }
}

extension RouteRule {
    public var jsonValue: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("Headers", headers.map { h in JSONValue.sortedMap(h.map { ($0.name, .string($0.valueRegex)) }) } ?? .null),
            ("Methods", methods.map { .array($0.map { .string($0) }) } ?? .null),
            ("TargetClusters", JSONValue.clusters(targetClusters)),
            ("AllowedServices", allowedServices.map { .array($0.map { .string($0) }) } ?? .null),
        ]
        if let rateLimit { pairs.append(("RateLimit", rateLimit.jsonValue)) }
        return .object(pairs)
    }
}

extension RateLimitConfig {
    public var jsonValue: JSONValue {
        .object([
            ("Limit", .int(limit)),
            ("StatTimeWindow", .double(period.seconds)),
            ("Burst", .int(capacity)),
            ("ResponseStatusCode", .int(responseStatusCode)),
            ("ResponseHeadersToAdd", responseHeadersToAdd.isEmpty ? .null : .array(responseHeadersToAdd.map {
                .object([("Name", .string($0.name)), ("Value", .string($0.value))])
            })),
        ])
    }
}

extension ClusterConfig {
    public var jsonValue: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("Endpoints", JSONValue.sortedMap(endpoints.map { ($0.address, .object([("Weight", .int($0.weight))])) })),
        ]
        if let connectionSettings { pairs.append(("ConnectionSettings", connectionSettings.jsonValue)) }
        if let retryPolicy { pairs.append(("RetryPolicy", retryPolicy.jsonValue)) }
        return .object(pairs)
    }
}

extension ConnectionSettings {
    public var jsonValue: JSONValue {
        var http: [(String, JSONValue)] = [("MaxRequests", .int(self.http.maxRequests))]
        if let perConnection = self.http.maxRequestsPerConnection { http.append(("MaxRequestsPerConnection", .int(perConnection))) }
        http.append(("MaxPendingRequests", .int(self.http.maxPendingRequests)))
        http.append(("MaxRetries", .int(self.http.maxRetries)))
        if let breaking = self.http.circuitBreaking { http.append(("CircuitBreaking", breaking.jsonValue)) }
        // Written only when it differs from the default, so configs that do not set it keep their bytes.
        if self.http.requestTimeout != ConnectionSettings.defaultRequestTimeout {
            http.append(("RequestTimeout", .double(self.http.requestTimeout.seconds)))
        }
        return .object([
            ("tcp", .object([("MaxConnections", .int(tcp.maxConnections)), ("ConnectTimeout", .double(tcp.connectTimeout.seconds))])),
            ("http", .object(http)),
        ])
    }
}

extension CircuitBreaking {
    public var jsonValue: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("StatTimeWindow", .double(statTimeWindow.seconds)),
            ("MinRequestAmount", .int(minRequestAmount)),
            ("DegradedTimeWindow", .double(degradedTimeWindow.seconds)),
            ("SlowTimeThreshold", .double(slowTimeThreshold.seconds)),
        ]
        if let slowAmountThreshold { pairs.append(("SlowAmountThreshold", .int(slowAmountThreshold))) }
        if let slowRatioThreshold { pairs.append(("SlowRatioThreshold", .double(slowRatioThreshold))) }
        if let errorAmountThreshold { pairs.append(("ErrorAmountThreshold", .int(errorAmountThreshold))) }
        if let errorRatioThreshold { pairs.append(("ErrorRatioThreshold", .double(errorRatioThreshold))) }
        pairs.append(("DegradedStatusCode", .int(degradedStatusCode)))
        pairs.append(("DegradedResponseContent", .string(degradedResponseContent)))
        return .object(pairs)
    }
}

extension RetryPolicy {
    public var jsonValue: JSONValue {
        .object([
            ("RetryOn", .string(retryOn)),
            ("PerTryTimeout", perTryTimeout.map { .double($0.seconds) } ?? .null),
            ("NumRetries", .int(numRetries)),
            ("RetryBackoffBaseInterval", .double(retryBackoffBaseInterval.seconds)),
        ])
    }
}

extension JSONValue {
    /// A Go-style map: keys sorted as strings; `null` when empty.
    static func sortedMap(_ pairs: [(String, JSONValue)]) -> JSONValue {
        if pairs.isEmpty { return .null }
        return .object(pairs.sorted { $0.0 < $1.0 })
    }

    static func hostMap(_ mappings: [HostMapping]) -> JSONValue {
        sortedMap(mappings.map { ($0.host, .string($0.service)) })
    }

    static func clusters(_ clusters: [WeightedCluster]) -> JSONValue {
        sortedMap(clusters.map { ($0.name, .int($0.weight)) })
    }

    /// `{fqdn: {pathRegex: rule}}`. Rules keep the config's order (the proxy evaluates them in
    /// that order); a service with no rules prints `{}` (every request is denied).
    static func routeRules(_ services: [ServiceRouteRules]) -> JSONValue {
        if services.isEmpty { return .null }
        return .object(services.sorted { $0.service < $1.service }.map { rules in
            (rules.service, .object(rules.rules.map { ($0.pathRegex, $0.jsonValue) }))
        })
    }
}
