import MeshModel

/// Gateway API kinds: GatewayClass, Gateway, HTTPRoute, GRPCRoute, TCPRoute, TLSRoute, UDPRoute.
/// Unknown fields are refused by their `FieldSchema` (`ManifestDecoder+GatewaySchema.swift`); the
/// checks here are the ones a schema cannot state (a path that must start with `/`, a regex that
/// must compile, a filter whose settings must match its type).
extension ManifestDecoder {
    /// The kinds of the gateway and ingress part (decoded by `gatewayResource`; the Gateway API's
    /// TCPRoute, which shares SMI's kind name, is told apart by its apiVersion).
    public static let gatewayKindNames: Set<String> = Set(["Secret", "Ingress", "IngressBackend", "GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "TLSRoute", "UDPRoute"]
        + GatewayPolicyKind.allCases.map(\.rawValue))

    /// The resource for a gateway or ingress kind; nil for other kinds.
    static func gatewayResource(kind: String, _ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> Resource? {
        if let policyKind = GatewayPolicyKind(rawValue: kind) {
            return .gatewayPolicy(try gatewayPolicy(document, kind: policyKind, defaultNamespace: defaultNamespace))
        }
        switch kind {
        case "GatewayClass": return .gatewayClass(try gatewayClass(document))
        case "Gateway": return .gateway(try gateway(document, defaultNamespace: defaultNamespace))
        case "HTTPRoute": return .gatewayRoute(try gatewayRoute(document, kind: .http, defaultNamespace: defaultNamespace))
        case "GRPCRoute": return .gatewayRoute(try gatewayRoute(document, kind: .grpc, defaultNamespace: defaultNamespace))
        case "TLSRoute": return .gatewayRoute(try gatewayRoute(document, kind: .tls, defaultNamespace: defaultNamespace))
        case "UDPRoute": return .gatewayRoute(try gatewayRoute(document, kind: .udp, defaultNamespace: defaultNamespace))
        case "Secret": return .secret(try secret(document, defaultNamespace: defaultNamespace))
        case "Ingress": return .ingress(try ingress(document, defaultNamespace: defaultNamespace))
        case "IngressBackend": return .ingressBackend(try ingressBackend(document, defaultNamespace: defaultNamespace))
        default: return nil
        }
    }

    static func gatewayClass(_ document: YAMLReader) throws(ManifestError) -> GatewayClass {
        let metadata = try metadata(document, namespace: .clusterScoped)
        let spec = try document.required("spec")
        return GatewayClass(metadata: metadata, controllerName: try spec.string("controllerName"), description: try spec.optionalString("description"))
    }

    static func gateway(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> Gateway {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        var listeners: [GatewayListener] = []
        for node in try nonEmptyElements(spec, "listeners") {
            let listener = try gatewayListener(node, namespace: metadata.namespace)
            if listeners.contains(where: { $0.name == listener.name }) {
                throw try node.required("name").error("duplicate listener name \(YAMLReader.quoted(listener.name))")
            }
            listeners.append(listener)
        }
        return Gateway(metadata: metadata, gatewayClassName: try spec.string("gatewayClassName"), listeners: listeners)
    }

    static func gatewayListener(_ node: YAMLReader, namespace: String) throws(ManifestError) -> GatewayListener {
        let nameNode = try node.required("name")
        let name = try nameNode.string()
        try validateSectionName(name, at: nameNode)
        let listenerProtocol = try node.required("protocol").oneOf(GatewayListenerProtocol.self)
        var listener = GatewayListener(name: name, hostname: try gatewayHostname(node.optional("hostname")),
                                       port: try node.required("port").int(in: portRange), protocol: listenerProtocol)
        if let tls = try node.optional("tls") {
            listener.tls = try listenerTLS(tls, namespace: namespace)
        }
        switch (listenerProtocol, listener.tls?.mode) {
        case (.https, nil), (.https, .terminate?), (.tls, _), (.http, nil), (.tcp, nil), (.udp, nil): break
        case (.https, .passthrough?): throw try node.required("tls").error("an HTTPS listener terminates TLS: mode Passthrough needs protocol TLS")
        case (_, _?): throw try node.required("tls").error("only HTTPS and TLS listeners take tls settings")
        }
        if listenerProtocol == .https, listener.tls?.certificateRefs.isEmpty ?? true {
            throw ManifestError(at: node.location, path: node.path + ".tls.certificateRefs", message: "an HTTPS listener needs at least one certificateRef")
        }
        if let allowed = try node.optional("allowedRoutes") {
            if let namespaces = try allowed.optional("namespaces") {
                listener.allowedNamespaces = try routeNamespaces(namespaces)
            }
            for kind in try allowed.optional("kinds")?.elements() ?? [] {
                listener.allowedKinds.append(GatewayRouteGroupKind(group: try kind.optionalString("group") ?? GatewayAPI.group,
                                                                   kind: try kind.required("kind").oneOf(GatewayRouteKind.allCases.map(\.rawValue))))
            }
        }
        return listener
    }

    static func listenerTLS(_ node: YAMLReader, namespace: String) throws(ManifestError) -> GatewayListenerTLS {
        var tls = GatewayListenerTLS(mode: try node.optional("mode")?.oneOf(GatewayTLSMode.self) ?? .terminate)
        for ref in try node.optional("certificateRefs")?.elements() ?? [] {
            tls.certificateRefs.append(try objectReference(ref, defaultGroup: "", defaultKind: "Secret", namespace: namespace))
        }
        tls.options = try node.optional("options")?.stringMap() ?? [:]
        return tls
    }

    static func routeNamespaces(_ node: YAMLReader) throws(ManifestError) -> GatewayRouteNamespaces {
        switch try node.optional("from")?.oneOf(["All", "Same", "Selector"]) ?? "Same" {
        case "All": return .all
        case "Selector":
            let selector = try node.required("selector")
            guard let labels = try selector.optional("matchLabels"), !(try labels.entries().isEmpty) else {
                throw selector.error("from: Selector needs matchLabels with at least one label")
            }
            return .selector(try self.labels(labels))
        default: return .same
        }
    }

    /// A Gateway API hostname: a lowercase DNS name, optionally with a leading `*.` wildcard label.
    static func gatewayHostname(_ node: YAMLReader?) throws(ManifestError) -> String? {
        guard let node else { return nil }
        let text = try node.string()
        let name = text.hasPrefix("*.") ? Substring(text.dropFirst(2)) : Substring(text)
        guard isDNSSubdomain(name) else {
            throw node.error("invalid hostname \(YAMLReader.quoted(text)): expected a lowercase DNS name such as foo.example.com or *.example.com (no IP address, no port)")
        }
        return text
    }

    /// A listener or rule name: a DNS label-like section name.
    static func validateSectionName(_ name: String, at node: YAMLReader) throws(ManifestError) {
        if !isDNSSubdomain(Substring(name)) {
            throw node.error("invalid name \(YAMLReader.quoted(name)): expected lowercase alphanumeric characters, '-' or '.'")
        }
    }

    /// `{group, kind, name, namespace}` with the defaults of the referring field.
    static func objectReference(_ node: YAMLReader, defaultGroup: String, defaultKind: String, namespace: String) throws(ManifestError) -> GatewayObjectReference {
        GatewayObjectReference(group: try node.optionalString("group") ?? defaultGroup, kind: try node.optionalString("kind") ?? defaultKind,
                               name: try node.string("name"), namespace: try node.optionalString("namespace") ?? namespace)
    }

    // MARK: Routes

    static func gatewayRoute(_ document: YAMLReader, kind: GatewayRouteKind, defaultNamespace: String) throws(ManifestError) -> GatewayRoute {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        var route = GatewayRoute(kind: kind, metadata: metadata)
        for node in try spec.optional("parentRefs")?.elements() ?? [] {
            route.parentRefs.append(GatewayParentReference(
                group: try node.optionalString("group") ?? GatewayAPI.group, kind: try node.optionalString("kind") ?? "Gateway",
                namespace: try node.optionalString("namespace") ?? metadata.namespace, name: try node.string("name"),
                sectionName: try node.optionalString("sectionName"), port: try node.optional("port")?.int(in: portRange)))
        }
        for node in try spec.optional("hostnames")?.elements() ?? [] {
            if let hostname = try gatewayHostname(node) { route.hostnames.append(hostname) }
        }
        for node in try spec.optional("rules")?.elements() ?? [] {
            route.rules.append(try routeRule(node, kind: kind, namespace: metadata.namespace))
        }
        return route
    }

    static func routeRule(_ node: YAMLReader, kind: GatewayRouteKind, namespace: String) throws(ManifestError) -> GatewayRouteRule {
        var rule = GatewayRouteRule()
        for match in try node.optional("matches")?.elements() ?? [] {
            switch kind {
            case .http: rule.matches.append(try httpRouteMatch(match))
            case .grpc: rule.grpcMatches.append(try grpcRouteMatch(match))
            case .tcp, .tls, .udp: break
            }
        }
        for filter in try node.optional("filters")?.elements() ?? [] {
            rule.filters.append(try httpFilter(filter, namespace: namespace, matches: rule.matches))
        }
        for backend in try node.optional("backendRefs")?.elements() ?? [] {
            rule.backendRefs.append(try backendRef(backend, namespace: namespace, matches: rule.matches))
        }
        return rule
    }

    static func httpRouteMatch(_ node: YAMLReader) throws(ManifestError) -> GatewayHTTPRouteMatch {
        var match = GatewayHTTPRouteMatch()
        if let path = try node.optional("path") {
            let type = try path.optional("type")?.oneOf(GatewayPathMatchType.self) ?? .pathPrefix
            let valueNode = try path.optional("value")
            let value = try valueNode?.string() ?? "/"
            if let valueNode {
                if type == .regularExpression {
                    try validateRegex(value, at: valueNode)
                } else if !value.hasPrefix("/") {
                    throw valueNode.error("a path must start with \"/\", found \(YAMLReader.quoted(value))")
                }
            }
            match.path = GatewayPathMatch(type: type, value: value)
        }
        match.headers = try valueMatches(node.optional("headers"), what: "header")
        match.queryParams = try valueMatches(node.optional("queryParams"), what: "query parameter")
        match.method = try node.optional("method")?.oneOf(gatewayMethods)
        return match
    }

    static func valueMatches(_ node: YAMLReader?, what: String) throws(ManifestError) -> [GatewayValueMatch] {
        var result: [GatewayValueMatch] = []
        for element in try node?.elements() ?? [] {
            let type = try element.optional("type")?.oneOf(GatewayValueMatchType.self) ?? .exact
            let nameNode = try element.required("name")
            let name = try nameNode.string()
            if result.contains(where: { $0.name.lowercased() == name.lowercased() }) {
                throw nameNode.error("duplicate \(what) match \(YAMLReader.quoted(name))")
            }
            let valueNode = try element.required("value")
            let value = try valueNode.string()
            if type == .regularExpression { try validateRegex(value, at: valueNode) }
            result.append(GatewayValueMatch(type: type, name: name, value: value))
        }
        return result
    }

    static func grpcRouteMatch(_ node: YAMLReader) throws(ManifestError) -> GatewayGRPCRouteMatch {
        var match = GatewayGRPCRouteMatch(headers: try valueMatches(node.optional("headers"), what: "header"))
        if let method = try node.optional("method") {
            match.type = try method.optional("type")?.oneOf(GatewayValueMatchType.self) ?? .exact
            match.service = try method.optionalString("service")
            match.method = try method.optionalString("method")
            if match.service == nil && match.method == nil {
                throw method.error("a method match needs a service, a method or both")
            }
            if match.type == .regularExpression {
                if let service = match.service { try validateRegex(service, at: try method.required("service")) }
                if let name = match.method { try validateRegex(name, at: try method.required("method")) }
            }
        }
        return match
    }

    static func backendRef(_ node: YAMLReader, namespace: String, matches: [GatewayHTTPRouteMatch]) throws(ManifestError) -> GatewayBackendRef {
        let reference = try objectReference(node, defaultGroup: "", defaultKind: "Service", namespace: namespace)
        let port = try node.optional("port")?.int(in: portRange)
        if reference.kind == "Service", reference.group.isEmpty, port == nil {
            throw ManifestError(at: node.location, path: node.path + ".port", message: "missing required field \"port\": a Service backend needs a port")
        }
        var filters: [GatewayHTTPFilter] = []
        for filter in try node.optional("filters")?.elements() ?? [] where filter.isMapping {
            filters.append(try httpFilter(filter, namespace: namespace, matches: matches))
        }
        return GatewayBackendRef(reference: reference, port: port, weight: try node.optional("weight")?.int(in: 0...1_000_000) ?? 1, filters: filters)
    }

    // MARK: Filters

    static func httpFilter(_ node: YAMLReader, namespace: String, matches: [GatewayHTTPRouteMatch]) throws(ManifestError) -> GatewayHTTPFilter {
        let typeNode = try node.required("type")
        let type = try typeNode.oneOf(["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect", "URLRewrite", "ExtensionRef"])
        switch type {
        case "RequestHeaderModifier":
            return .requestHeaderModifier(try headerModifier(try node.required("requestHeaderModifier")))
        case "ResponseHeaderModifier":
            return .responseHeaderModifier(try headerModifier(try node.required("responseHeaderModifier")))
        case "RequestMirror":
            let mirror = try node.required("requestMirror")
            let backend = try mirror.required("backendRef")
            return .requestMirror(backend: try objectReference(backend, defaultGroup: "", defaultKind: "Service", namespace: namespace),
                                  port: try backend.optional("port")?.int(in: portRange))
        case "RequestRedirect":
            let redirect = try node.required("requestRedirect")
            return .requestRedirect(GatewayRequestRedirect(
                scheme: try redirect.optional("scheme")?.oneOf(["http", "https"]),
                hostname: try gatewayHostname(redirect.optional("hostname")),
                path: try pathModifier(redirect.optional("path"), matches: matches),
                port: try redirect.optional("port")?.int(in: portRange),
                statusCode: try redirect.optional("statusCode")?.int(in: 301...308) ?? 302))
        case "URLRewrite":
            let rewrite = try node.required("urlRewrite")
            return .urlRewrite(GatewayURLRewrite(hostname: try gatewayHostname(rewrite.optional("hostname")),
                                                 path: try pathModifier(rewrite.optional("path"), matches: matches)))
        default:
            throw typeNode.error("ExtensionRef filters are not supported by FSM Gateway; use RequestHeaderModifier, ResponseHeaderModifier, RequestMirror, RequestRedirect or URLRewrite")
        }
    }

    static func headerModifier(_ node: YAMLReader) throws(ManifestError) -> GatewayHeaderModifier {
        func headers(_ key: String) throws(ManifestError) -> [GatewayHeader] {
            var result: [GatewayHeader] = []
            for element in try node.optional(key)?.elements() ?? [] {
                result.append(GatewayHeader(name: try element.string("name"), value: try element.string("value")))
            }
            return result
        }
        let modifier = GatewayHeaderModifier(set: try headers("set"), add: try headers("add"), remove: try node.optional("remove")?.stringList() ?? [])
        if modifier.set.isEmpty && modifier.add.isEmpty && modifier.remove.isEmpty {
            throw node.error("a header modifier needs at least one of set, add or remove")
        }
        return modifier
    }

    /// `ReplaceFullPath` / `ReplacePrefixMatch`; the latter needs every match of the rule to be a `PathPrefix` one.
    static func pathModifier(_ node: YAMLReader?, matches: [GatewayHTTPRouteMatch]) throws(ManifestError) -> GatewayPathModifier? {
        guard let node else { return nil }
        let type = try node.required("type").oneOf(["ReplaceFullPath", "ReplacePrefixMatch"])
        if type == "ReplaceFullPath" {
            let value = try node.required("replaceFullPath")
            let path = try value.string()
            if !path.hasPrefix("/") { throw value.error("a path must start with \"/\", found \(YAMLReader.quoted(path))") }
            return .replaceFullPath(path)
        }
        let value = try node.required("replacePrefixMatch")
        let prefix = try value.string()
        if !prefix.hasPrefix("/") { throw value.error("a path must start with \"/\", found \(YAMLReader.quoted(prefix))") }
        if let other = matches.first(where: { $0.path.type != .pathPrefix }) {
            throw node.error("ReplacePrefixMatch needs PathPrefix matches; this rule has a match of type \(other.path.type.rawValue)")
        }
        return .replacePrefixMatch(prefix)
    }
}
