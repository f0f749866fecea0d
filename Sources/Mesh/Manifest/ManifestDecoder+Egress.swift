import MeshModel

/// FSM's Egress (`policy.flomesh.io/v1alpha1`); its EgressGateway is in `ManifestDecoder+EgressGateway`.
extension ManifestDecoder {
    static let egressSpec = FieldSchema.object([
        "sources": .list(.object(["kind": .oneOf(["ServiceAccount"]), "name": .string, "namespace": .string, "mtls": .openObject],
                                 required: ["kind", "name"]), minItems: 1),
        "hosts": .list(.string),
        "ipAddresses": .list(.string),
        "ports": .list(.object(["number": .integer(portRange), "protocol": .oneOf(EgressProtocol.allCases.map(\.rawValue))],
                               required: ["number", "protocol"]), minItems: 1),
        "matches": .list(.object(["apiGroup": .string, "kind": .oneOf(EgressMatch.Kind.allCases.map(\.rawValue)), "name": .string],
                                 required: ["kind", "name"])),
    ], required: ["sources", "ports"])

    static func egress(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> Egress {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        var egress = Egress(metadata: metadata)
        for node in try nonEmptyElements(spec, "sources") {
            _ = try node.required("kind").oneOf(["ServiceAccount"])
            let nameNode = try node.required("name")
            let name = try nameNode.string()
            try validateLabel(name, at: nameNode)
            var namespace = metadata.namespace
            if let namespaceNode = try node.optional("namespace") {
                namespace = try namespaceNode.string()
                try validateLabel(namespace, at: namespaceNode)
            }
            egress.sources.append(IdentityReference(name: name, namespace: namespace))
        }
        for node in try spec.optional("hosts")?.elements() ?? [] {
            let host = try node.string().lowercased()
            guard isEgressHost(host) else { throw node.error("expected a DNS name such as httpbin.org, found \(YAMLReader.quoted(host))") }
            egress.hosts.append(host)
        }
        // An invalid range is the controller's to report and ignore (E2002), as FSM does.
        egress.ipAddresses = try spec.optional("ipAddresses")?.stringList() ?? []
        for node in try nonEmptyElements(spec, "ports") {
            let number = try node.required("number").int(in: portRange)
            let portProtocol = try node.required("protocol").oneOf(EgressProtocol.self, caseInsensitive: true)
            egress.ports.append(EgressPort(number: number, protocol: portProtocol))
        }
        for node in try spec.optional("matches")?.elements() ?? [] {
            let nameNode = try node.required("name")
            let name = try nameNode.string()
            try validateServiceName(name, at: nameNode)
            egress.matches.append(EgressMatch(apiGroup: try node.optional("apiGroup")?.string() ?? "", kind: try node.required("kind").oneOf(EgressMatch.Kind.self),
                                              name: name))
        }
        return egress
    }

    /// A DNS name: labels of letters, digits and `-` joined by dots; `*.` may lead.
    static func isEgressHost(_ host: String) -> Bool {
        let name = host.hasPrefix("*.") ? String(host.dropFirst(2)) : host
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
        }
    }
}
