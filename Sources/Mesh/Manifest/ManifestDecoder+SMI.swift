import MeshModel

/// SMI kinds: TrafficTarget (access v1alpha3), HTTPRouteGroup and TCPRoute (specs v1alpha4),
/// TrafficSplit (split v1alpha2/v1alpha4). Unknown fields are rejected by their `FieldSchema`.
extension ManifestDecoder {
    /// The methods an HTTPRouteGroup match may name (SMI's enum), `*` meaning any.
    public static let httpMethods = ["*", "GET", "HEAD", "PUT", "POST", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]

    static func trafficTarget(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> TrafficTarget {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        // `port` narrows the destination in SMI v1alpha3; FSM does not use it.
        let destination = try identityReference(try spec.required("destination"), allowedKinds: ["ServiceAccount"], defaultNamespace: metadata.namespace)
        var rules: [TrafficTargetRule] = []
        for node in try spec.optional("rules")?.elements() ?? [] {
            rules.append(TrafficTargetRule(
                kind: try node.required("kind").oneOf(["HTTPRouteGroup", "TCPRoute"]),
                name: try node.string("name"),
                matches: try node.optional("matches")?.stringList() ?? []
            ))
        }
        var sources: [IdentityReference] = []
        for node in try nonEmptyElements(spec, "sources") {
            sources.append(try identityReference(node, allowedKinds: ["ServiceAccount"], defaultNamespace: metadata.namespace))
        }
        return TrafficTarget(metadata: metadata, destination: destination, rules: rules, sources: sources)
    }

    static func httpRouteGroup(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> HTTPRouteGroup {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        var matches: [HTTPMatch] = []
        for node in try nonEmptyElements(spec, "matches") {
            let nameNode = try node.required("name")
            let name = try nameNode.string()
            if matches.contains(where: { $0.name == name }) { throw nameNode.error("duplicate match name \(YAMLReader.quoted(name))") }
            var pathRegex: String?
            if let regexNode = try node.optional("pathRegex") {
                let text = try regexNode.string()
                try validateRegex(text, at: regexNode)
                pathRegex = text
            }
            var methods: [String] = []
            for methodNode in try node.optional("methods")?.elements() ?? [] {
                methods.append(try methodNode.oneOf(httpMethods))
            }
            matches.append(HTTPMatch(name: name, pathRegex: pathRegex, methods: methods, headers: try headers(node.optional("headers"))))
        }
        return HTTPRouteGroup(metadata: metadata, matches: matches)
    }

    /// Headers as a map (`{client-app: bookbuyer}`) or, as the bookstore demo writes them, a list of
    /// single-pair maps (`- "client-app": "bookbuyer"`).
    static func headers(_ node: YAMLReader?) throws(ManifestError) -> [String: String] {
        guard let node else { return [:] }
        var headers: [String: String] = [:]
        if node.isSequence {
            for element in try node.elements() {
                let pairs = try element.entries()
                guard pairs.count == 1 else {
                    throw element.error("expected a single `name: value-regex` pair, found \(pairs.count) pairs")
                }
                headers[pairs[0].key] = try pairs[0].value.string()
            }
        } else {
            headers = try node.stringMap()
        }
        return headers
    }

    static func validateRegex(_ text: String, at node: YAMLReader) throws(ManifestError) {
        do {
            _ = try Regex(text)
        } catch {
            throw node.error("invalid regular expression \(YAMLReader.quoted(text)): \(error)")
        }
    }

    static func tcpRoute(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> TCPRoute {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        guard let matches = try spec.optional("matches") else { return TCPRoute(metadata: metadata) }
        return TCPRoute(metadata: metadata, ports: try matches.optional("ports")?.intList(in: portRange) ?? [])
    }

    static func trafficSplit(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> TrafficSplit {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        let service = try spec.string("service")
        var backends: [TrafficSplitBackend] = []
        let backendNodes = try nonEmptyElements(spec, "backends")
        for node in backendNodes {
            backends.append(TrafficSplitBackend(service: try node.string("service"), weight: try node.required("weight").int(in: 0...Int(Int32.max))))
        }
        if backends.allSatisfy({ $0.weight == 0 }) {
            throw try spec.required("backends").error("the total weight of all backends must be greater than zero")
        }
        var matches: [TrafficTargetRule] = []
        for node in try spec.optional("matches")?.elements() ?? [] {
            matches.append(TrafficTargetRule(kind: try node.required("kind").oneOf(["HTTPRouteGroup"]), name: try node.string("name")))
        }
        return TrafficSplit(metadata: metadata, service: service, backends: backends, matches: matches)
    }
}
