import MeshModel

/// The field schemas (`FieldSchema`) of the Gateway API kinds (`gateway.networking.k8s.io` v1 and
/// v1alpha2, as of Gateway API v1.2), FSM Gateway's policies (`gateway.flomesh.io/v1alpha1`, the
/// fields the guides show plus FSM's CRD types), Ingress, IngressBackend and Secret.
extension ManifestDecoder {
    /// The schema table's key for a kind: its name, or `Kind.group` where two groups share a kind
    /// name (SMI's TCPRoute and the Gateway API's).
    static func schemaKey(kind: String, apiVersion: String) -> String {
        kind == "TCPRoute" && apiVersion.hasPrefix(GatewayAPI.group + "/") ? gatewayTCPRouteKey : kind
    }

    static let gatewayTCPRouteKey = "TCPRoute." + GatewayAPI.group

    static let gatewaySchemas: [String: FieldSchema] = {
        var table: [String: FieldSchema] = [
            "GatewayClass": policyObject(spec: .object(["controllerName": .string, "parametersRef": .openObject, "description": .string],
                                                       required: ["controllerName"])),
            "Gateway": policyObject(spec: gatewaySpec),
            "HTTPRoute": policyObject(spec: routeSpec(rule: httpRouteRule, hostnames: true)),
            "GRPCRoute": policyObject(spec: routeSpec(rule: grpcRouteRule, hostnames: true)),
            gatewayTCPRouteKey: policyObject(spec: routeSpec(rule: l4RouteRule, hostnames: false)),
            "TLSRoute": policyObject(spec: routeSpec(rule: l4RouteRule, hostnames: true)),
            "UDPRoute": policyObject(spec: routeSpec(rule: l4RouteRule, hostnames: false)),
            "Ingress": coreObject(spec: ingressSpec),
            "IngressBackend": policyObject(spec: ingressBackendSpec),
            "Secret": .fields(["apiVersion", "kind", "metadata", "type", "data", "stringData", "immutable"],
                              ["metadata": objectMeta, "data": .map(.string), "stringData": .map(.string)]),
        ]
        for kind in GatewayPolicyKind.allCases { table[kind.rawValue] = policyObject(spec: policySpec(kind)) }
        return table
    }()

    // MARK: Gateway

    static let secretReference = FieldSchema.object(["group": .string, "kind": .string, "name": .string, "namespace": .string], required: ["name"])

    static let gatewaySpec = FieldSchema.object([
        "gatewayClassName": .string,
        "listeners": .list(.object([
            "name": .string, "hostname": .string, "port": port, "protocol": .oneOf(GatewayListenerProtocol.allCases.map(\.rawValue)),
            "tls": .object(["mode": .oneOf(GatewayTLSMode.allCases.map(\.rawValue)), "certificateRefs": .list(secretReference),
                            "options": .map(.string), "frontendValidation": .openObject]),
            "allowedRoutes": .object([
                "namespaces": .object(["from": .oneOf(["All", "Same", "Selector"]), "selector": labelSelector]),
                "kinds": .list(.object(["group": .string, "kind": .string], required: ["kind"])),
            ]),
        ], required: ["name", "port", "protocol"]), minItems: 1),
        "addresses": .any, "infrastructure": .openObject, "backendTLS": .openObject,
    ], required: ["gatewayClassName", "listeners"])

    // MARK: Routes

    static let parentReference = FieldSchema.object(["group": .string, "kind": .string, "namespace": .string, "name": .string, "sectionName": .string, "port": port],
                                                    required: ["name"])

    static func routeSpec(rule: FieldSchema, hostnames: Bool) -> FieldSchema {
        hostnames
            ? .object(["parentRefs": .list(parentReference), "hostnames": .list(.string), "rules": .list(rule)])
            : .object(["parentRefs": .list(parentReference), "rules": .list(rule)])
    }

    static let valueMatch = FieldSchema.object(["type": .oneOf(GatewayValueMatchType.allCases.map(\.rawValue)), "name": .string, "value": .string],
                                               required: ["name", "value"])

    static let httpRouteMatch = FieldSchema.object([
        "path": .object(["type": .oneOf(GatewayPathMatchType.allCases.map(\.rawValue)), "value": .string]),
        "headers": .list(valueMatch), "queryParams": .list(valueMatch),
        "method": .oneOf(gatewayMethods),
    ])

    static let gatewayMethods = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]

    static let headerList = FieldSchema.list(.object(["name": .string, "value": .string], required: ["name", "value"]))
    static let headerModifier = FieldSchema.object(["set": headerList, "add": headerList, "remove": .list(.string)])
    static let pathModifier = FieldSchema.object(["type": .oneOf(["ReplaceFullPath", "ReplacePrefixMatch"]), "replaceFullPath": .string, "replacePrefixMatch": .string],
                                                 required: ["type"])
    static let backendObjectReference = FieldSchema.object(["group": .string, "kind": .string, "name": .string, "namespace": .string, "port": port], required: ["name"])

    static let httpRouteFilter = FieldSchema.object([
        "type": .oneOf(["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect", "URLRewrite", "ExtensionRef"]),
        "requestHeaderModifier": headerModifier, "responseHeaderModifier": headerModifier,
        "requestMirror": .object(["backendRef": backendObjectReference, "percent": .integer(0...100), "fraction": .openObject], required: ["backendRef"]),
        "requestRedirect": .object(["scheme": .oneOf(["http", "https"]), "hostname": .string, "path": pathModifier, "port": port,
                                    "statusCode": .integer(301...308)]),
        "urlRewrite": .object(["hostname": .string, "path": pathModifier]),
        "extensionRef": .openObject,
    ], required: ["type"])

    static func backendRef(filters: FieldSchema) -> FieldSchema {
        .object(["group": .string, "kind": .string, "name": .string, "namespace": .string, "port": port,
                 "weight": .integer(0...1_000_000), "filters": .list(filters)], required: ["name"])
    }

    static let httpRouteRule = FieldSchema.object([
        "name": .string, "matches": .list(httpRouteMatch), "filters": .list(httpRouteFilter),
        "backendRefs": .list(backendRef(filters: httpRouteFilter)), "timeouts": .object(["request": .string, "backendRequest": .string]),
        "retry": .openObject, "sessionPersistence": .openObject,
    ])

    static let grpcRouteRule = FieldSchema.object([
        "name": .string,
        "matches": .list(grpcRouteRuleMatch),
        "filters": .list(httpRouteFilter), "backendRefs": .list(backendRef(filters: httpRouteFilter)), "sessionPersistence": .openObject,
    ])

    static let l4RouteRule = FieldSchema.object(["name": .string, "backendRefs": .list(backendRef(filters: .openObject), minItems: 1)])

    // MARK: FSM Gateway policies

    static let policyTargetRef = FieldSchema.object(["group": .string, "kind": .string, "name": .string, "namespace": .string, "sectionName": .string],
                                                    required: ["kind", "name"])

    static let positive = FieldSchema.integer(1...Int(Int32.max))
    static let nonNegative = FieldSchema.integer(0...Int(Int32.max))
    static let statusCode = FieldSchema.integer(1...10000)

    /// The `config` of each policy kind (LoadBalancerPolicy has none: `type` sits on the port).
    static func policyConfig(_ kind: GatewayPolicyKind) -> FieldSchema {
        switch kind {
        case .rateLimit:
            .object(["mode": .oneOf(["Local", "Global"]), "backlog": positive, "requests": positive, "burst": positive, "statTimeWindow": positive,
                     "responseStatusCode": statusCode, "responseHeadersToAdd": headerList], required: ["requests", "statTimeWindow"])
        case .accessControl:
            .object(["blacklist": .list(.string), "whitelist": .list(.string), "enableXFF": .boolean, "statusCode": statusCode, "message": .string])
        case .loadBalancer:
            .oneOf(GatewayLoadBalancerType.allCases.map(\.rawValue))
        case .sessionSticky:
            .object(["cookieName": .string, "expires": positive])
        case .healthCheck:
            .object(["interval": positive, "maxFails": nonNegative, "failTimeout": nonNegative, "path": .string,
                     "matches": .list(.object(["statusCodes": .list(.integer(100...599)), "body": .string, "headers": headerList]))],
                    required: ["interval", "maxFails"])
        case .faultInjection:
            .object([
                "delay": .object(["percent": .integer(0...100), "fixed": nonNegative,
                                  "range": .object(["min": nonNegative, "max": positive], required: ["min", "max"]),
                                  "unit": .oneOf(GatewayDelayUnit.allCases.map(\.rawValue))]),
                "abort": .object(["percent": .integer(0...100), "statusCode": statusCode, "message": .string]),
            ])
        case .retry:
            .object(["retryOn": .list(.string, minItems: 1), "numRetries": positive, "backoffBaseInterval": .number(0.001...1e9)], required: ["retryOn"])
        case .upstreamTLS, .gatewayTLS:
            .object(["certificateRef": secretReference, "mTLS": .boolean])
        case .circuitBreaking:
            .object(["minRequestAmount": positive, "statTimeWindow": positive, "slowTimeThreshold": .number(0.0001...1e9), "slowAmountThreshold": positive,
                     "slowRatioThreshold": .number(0...1), "errorAmountThreshold": positive, "errorRatioThreshold": .number(0...1),
                     "degradedTimeWindow": positive, "degradedStatusCode": statusCode, "degradedResponseContent": .string],
                    required: ["minRequestAmount", "statTimeWindow", "degradedTimeWindow", "degradedStatusCode"])
        }
    }

    /// The levels a kind has: ports, hostnames, route matches, a default.
    static func policySpec(_ kind: GatewayPolicyKind) -> FieldSchema {
        let config = policyConfig(kind)
        let routeLevels: [(String, FieldSchema)] = [
            ("hostnames", .list(.object(["hostname": .string, "config": config], required: ["hostname"]))),
            ("http", .list(.object(["match": httpRouteMatch, "config": config], required: ["match"]))),
            ("grpc", .list(.object(["match": grpcRouteRuleMatch, "config": config], required: ["match"]))),
        ]
        var fields: [(String, FieldSchema)] = [("targetRef", policyTargetRef)]
        switch kind {
        case .rateLimit:
            fields.append(("ports", .list(.object(["port": port, "bps": positive], required: ["port"]))))
            fields.append(("bps", positive))
            fields += routeLevels
            fields.append(("config", config))
        case .accessControl:
            fields.append(("ports", .list(.object(["port": port, "config": config], required: ["port"]))))
            fields += routeLevels
            fields.append(("config", config))
        case .faultInjection:
            fields += routeLevels
            fields.append(("config", config))
            fields.append(("unit", .oneOf(GatewayDelayUnit.allCases.map(\.rawValue))))
        case .loadBalancer:
            fields.append(("ports", .list(.object(["port": port, "type": config], required: ["port"]))))
            fields.append(("type", config))
        case .sessionSticky, .healthCheck, .retry, .upstreamTLS, .gatewayTLS, .circuitBreaking:
            fields.append(("ports", .list(.object(["port": port, "config": config], required: ["port"]))))
            fields.append(("config", config))
        }
        return .properties(fields.map { SchemaField(name: $0.0, schema: $0.1, required: $0.0 == "targetRef") })
    }

    static let grpcRouteRuleMatch = FieldSchema.object([
        "method": .object(["type": .oneOf(GatewayValueMatchType.allCases.map(\.rawValue)), "service": .string, "method": .string]),
        "headers": .list(valueMatch),
    ])

    // MARK: Ingress

    static let ingressServiceBackend = FieldSchema.object([
        "service": .object(["name": .string, "port": .object(["name": .string, "number": port])], required: ["name", "port"]),
        "resource": .openObject,
    ])

    static let ingressSpec = FieldSchema.object([
        "ingressClassName": .string, "defaultBackend": ingressServiceBackend,
        "tls": .list(.object(["hosts": .list(.string), "secretName": .string])),
        "rules": .list(.object(["host": .string, "http": .object(["paths": .list(.object([
            "path": .string, "pathType": .oneOf(IngressPathType.allCases.map(\.rawValue)), "backend": ingressServiceBackend,
        ], required: ["pathType", "backend"]), minItems: 1)], required: ["paths"])])),
    ])

    static let ingressBackendSpec = FieldSchema.object([
        "backends": .list(.object([
            "name": .string,
            "port": .object(["number": port, "protocol": .oneOf(IngressBackendProtocol.allCases.map(\.rawValue))], required: ["number", "protocol"]),
            "tls": .object(["skipClientCertValidation": .boolean]),
        ], required: ["name", "port"]), minItems: 1),
        "sources": .list(.object(["kind": .oneOf(["Service", "IPRange", "AuthenticatedPrincipal"]), "name": .string, "namespace": .string],
                                 required: ["kind", "name"]), minItems: 1),
        "matches": .openObject,
    ], required: ["backends", "sources"])
}
