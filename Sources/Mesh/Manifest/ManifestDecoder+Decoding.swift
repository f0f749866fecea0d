import MeshModel

extension ManifestDecoder {
    /// Decodes every non-empty document of `text`. `lineOffset`/`columnOffset` place a text embedded
    /// in another file (a scenario's `manifests: |` block) at its real position. The documents must
    /// hold together (`ManifestSet`: no resource twice, no pod IP twice, not too many pods).
    public static func decode(_ text: String, file: String, lineOffset: Int = 0, columnOffset: Int = 0, defaultNamespace: String = "default") throws(ManifestError) -> [DecodedResource] {
        var set = ManifestSet()
        for document in try YAMLReader.documents(text: text, file: file, lineOffset: lineOffset, columnOffset: columnOffset) where !document.isNull {
            set.add(try decode(reader: document, defaultNamespace: defaultNamespace))
            if let problem = set.problems.first { throw problem }
        }
        return set.accepted
    }

    /// Decodes one document (a mapping with `apiVersion` and `kind`).
    public static func decode(reader document: YAMLReader, defaultNamespace: String = "default") throws(ManifestError) -> DecodedResource {
        guard document.isMapping else {
            throw document.error("expected a Kubernetes object (a mapping with apiVersion, kind and metadata), found \(document.foundDescription)")
        }
        let kindNode = try document.required("kind")
        let kind = try kindNode.string()
        let entries = supportedKinds.filter { $0.kind == kind }
        if entries.isEmpty {
            let known = uniqueKindNames.joined(separator: ", ")
            let hint = NearestName.suggestion(for: kind, among: uniqueKindNames).map { "did you mean \(YAMLReader.quoted($0))? " } ?? ""
            throw kindNode.error("unsupported kind \(YAMLReader.quoted(kind)); \(hint)supported kinds: \(known)")
        }
        let versionNode = try document.required("apiVersion")
        let apiVersion = try versionNode.string()
        guard entries.contains(where: { $0.apiVersions.contains(apiVersion) }) else {
            let versions = entries.flatMap(\.apiVersions)
            throw versionNode.error("unsupported apiVersion \(YAMLReader.quoted(apiVersion)) for kind \(kind); supported: \(versions.joined(separator: ", "))")
        }
        // Strict field validation first: a misspelt field is reported as such, not as a missing one.
        let schemaKey = schemaKey(kind: kind, apiVersion: apiVersion)
        try (schemas[schemaKey] ?? gatewaySchemas[schemaKey])?.check(document)
        let resource: Resource
        switch kind {
        case "Namespace": resource = .namespace(Namespace(metadata: try metadata(document, namespace: .clusterScoped)))
        case "Service": resource = .service(try service(document, defaultNamespace: defaultNamespace))
        case "ServiceAccount": resource = .serviceAccount(ServiceAccount(metadata: try metadata(document, namespace: .defaulted(defaultNamespace))))
        case "Endpoints": resource = .endpoints(try endpoints(document, defaultNamespace: defaultNamespace))
        case "Pod": resource = .pod(try pod(document, defaultNamespace: defaultNamespace))
        case "Deployment": resource = .workload(try workload(document, kind: .deployment, defaultNamespace: defaultNamespace))
        case "StatefulSet": resource = .workload(try workload(document, kind: .statefulSet, defaultNamespace: defaultNamespace))
        case "TrafficTarget": resource = .trafficTarget(try trafficTarget(document, defaultNamespace: defaultNamespace))
        case "HTTPRouteGroup": resource = .httpRouteGroup(try httpRouteGroup(document, defaultNamespace: defaultNamespace))
        case "TCPRoute" where schemaKey == gatewayTCPRouteKey:
            resource = .gatewayRoute(try gatewayRoute(document, kind: .tcp, defaultNamespace: defaultNamespace))
        case "TCPRoute": resource = .tcpRoute(try tcpRoute(document, defaultNamespace: defaultNamespace))
        case "TrafficSplit": resource = .trafficSplit(try trafficSplit(document, defaultNamespace: defaultNamespace))
        case "MeshConfig": resource = .meshConfig(try meshConfig(document))
        case "UpstreamTrafficSetting": resource = .upstreamTrafficSetting(try upstreamTrafficSetting(document, defaultNamespace: defaultNamespace))
        case "Retry": resource = .retry(try retry(document, defaultNamespace: defaultNamespace))
        case "AccessControl": resource = .accessControl(try accessControl(document, defaultNamespace: defaultNamespace))
        case "Egress": resource = .egress(try egress(document, defaultNamespace: defaultNamespace))
        case "AccessCert": resource = .accessCert(try accessCert(document, defaultNamespace: defaultNamespace))
        case "EgressGateway": resource = .egressGateway(try egressGateway(document, defaultNamespace: defaultNamespace))
        default:
            if let gatewayResource = try gatewayResource(kind: kind, document, defaultNamespace: defaultNamespace) {
                resource = gatewayResource
                break
            }
            // `supportedKinds` and this switch list the same kinds; keep them in step.
            throw kindNode.error("kind \(kind) is listed as supported but has no decoder")
        }
        return DecodedResource(resource: resource, location: document.location)
    }

    // MARK: - Metadata

    enum NamespaceRule {
        case clusterScoped
        case defaulted(String)
    }

    static func metadata(_ document: YAMLReader, namespace rule: NamespaceRule) throws(ManifestError) -> ObjectMeta {
        let meta = try document.required("metadata")
        let nameNode = try meta.required("name")
        let name = try nameNode.string()
        try validateName(name, at: nameNode)
        var namespace = ""
        if case .defaulted(let fallback) = rule {
            if let namespaceNode = try meta.optional("namespace") {
                namespace = try namespaceNode.string()
                try validateLabel(namespace, at: namespaceNode)
            } else {
                namespace = fallback
            }
        }
        return ObjectMeta(
            name: name,
            namespace: namespace,
            labels: try labels(meta.optional("labels")),
            annotations: try annotations(meta.optional("annotations"))
        )
    }

    /// Labels and annotations of a pod template (no name or namespace).
    static func templateMetadata(_ template: YAMLReader) throws(ManifestError) -> ObjectMeta {
        guard let meta = try template.optional("metadata") else { return ObjectMeta(name: "") }
        return ObjectMeta(name: "", labels: try labels(meta.optional("labels")), annotations: try annotations(meta.optional("annotations")))
    }

    /// A lowercase RFC 1123 subdomain of at most 253 characters, as Kubernetes requires of object names.
    static func validateName(_ name: String, at node: YAMLReader) throws(ManifestError) {
        if !isDNSSubdomain(Substring(name)) {
            throw node.error("invalid name \(YAMLReader.quoted(name)): a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', must start and end with an alphanumeric character, and be at most 253 characters")
        }
    }

    /// A Service's name: a DNS-1035 label (it becomes a DNS name `<name>.<namespace>`).
    static func validateServiceName(_ name: String, at node: YAMLReader) throws(ManifestError) {
        if !isDNSLabel(Substring(name)) || !(name.utf8.first.map { $0 >= 0x61 && $0 <= 0x7A } ?? false) {
            throw node.error("invalid Service name \(YAMLReader.quoted(name)): a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, end with an alphanumeric character, and be at most 63 characters")
        }
    }

    static func isDNSSubdomain(_ name: Substring) -> Bool {
        !name.isEmpty && name.utf8.count <= 253 && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isDNSLabel)
    }

    /// A lowercase RFC 1123 label, as Kubernetes requires of namespace names.
    static func validateLabel(_ name: String, at node: YAMLReader) throws(ManifestError) {
        if !isDNSLabel(Substring(name)) {
            throw node.error("invalid namespace \(YAMLReader.quoted(name)): a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character, and be at most 63 characters")
        }
    }

    private static func isDNSLabel(_ label: Substring) -> Bool {
        let bytes = label.utf8
        guard let first = bytes.first, let last = bytes.last, bytes.count <= 63 else { return false }
        func alphanumeric(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        return alphanumeric(first) && alphanumeric(last) && bytes.allSatisfy { alphanumeric($0) || $0 == 0x2D }
    }

    // MARK: - Shared pieces

    /// A reference such as `{kind: ServiceAccount, name: bookbuyer, namespace: bookbuyer}`; the
    /// namespace defaults to the referring resource's.
    static func identityReference(_ node: YAMLReader, allowedKinds: [String], defaultNamespace: String) throws(ManifestError) -> IdentityReference {
        let kind = try node.required("kind").oneOf(allowedKinds)
        let nameNode = try node.required("name")
        let name = try nameNode.string()
        try validateName(name, at: nameNode)
        var namespace = defaultNamespace
        if let namespaceNode = try node.optional("namespace") {
            namespace = try namespaceNode.string()
            try validateLabel(namespace, at: namespaceNode)
        }
        return IdentityReference(kind: kind, name: name, namespace: namespace)
    }

    /// A list that must hold at least one element.
    static func nonEmptyElements(_ parent: YAMLReader, _ key: String) throws(ManifestError) -> [YAMLReader] {
        let list = try parent.required(key)
        let elements = try list.elements()
        if elements.isEmpty { throw list.error("must have at least one element") }
        return elements
    }

    static let portRange = 1...65535
    static let uint32Range = 0...4_294_967_295
}
