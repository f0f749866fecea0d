import MeshModel

/// FSM's AccessControl (`policy.flomesh.io/v1alpha1`).
extension ManifestDecoder {
    static let accessControlPortProtocols = ["http", "grpc", "tcp", "tcp-server-first", "https"]

    static let accessControlSpec = FieldSchema.object([
        "backends": .list(.object([
            "name": .string,
            "port": .object(["number": .integer(portRange), "protocol": .oneOf(accessControlPortProtocols)], required: ["number", "protocol"]),
            "tls": .object(["skipClientCertValidation": .boolean]),
        ], required: ["name", "port"])),
        "sources": .list(.object(["kind": .oneOf(AccessControlSource.Kind.allCases.map(\.rawValue)), "name": .string, "namespace": .string],
                                 required: ["kind", "name"]), minItems: 1),
        "matches": .list(.openObject),
    ], required: ["sources"])

    static func accessControl(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> AccessControl {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        var control = AccessControl(metadata: metadata)
        for node in try spec.optional("backends")?.elements() ?? [] {
            let nameNode = try node.required("name")
            let name = try nameNode.string()
            try validateServiceName(name, at: nameNode)
            let port = try node.required("port")
            var backend = AccessControlBackend(name: name, port: try port.required("number").int(in: portRange),
                                               portProtocol: try port.required("protocol").oneOf(accessControlPortProtocols, caseInsensitive: true).lowercased())
            backend.skipClientCertValidation = try node.optional("tls")?.optional("skipClientCertValidation")?.bool() ?? false
            control.backends.append(backend)
        }
        for node in try nonEmptyElements(spec, "sources") {
            control.sources.append(try accessControlSource(node, defaultNamespace: metadata.namespace))
        }
        return control
    }

    private static func accessControlSource(_ node: YAMLReader, defaultNamespace: String) throws(ManifestError) -> AccessControlSource {
        let kind = try node.required("kind").oneOf(AccessControlSource.Kind.self)
        let nameNode = try node.required("name")
        let name = try nameNode.string()
        switch kind {
        case .service:
            try validateServiceName(name, at: nameNode)
        case .ipRange:
            guard isCIDR(name) else {
                throw nameNode.error("expected an IP range in CIDR notation such as 10.244.0.10/32, found \(YAMLReader.quoted(name))")
            }
        case .authenticatedPrincipal:
            guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "/" }) else {
                throw nameNode.error("expected an identity such as curl.curl.cluster.local, found \(YAMLReader.quoted(name))")
            }
        }
        var namespace = defaultNamespace
        if let namespaceNode = try node.optional("namespace") {
            namespace = try namespaceNode.string()
            try validateLabel(namespace, at: namespaceNode)
        }
        return AccessControlSource(kind: kind, name: name, namespace: namespace)
    }
}
