import MeshModel

/// Ingress (`networking.k8s.io/v1`) with FSM's `pipy.ingress.kubernetes.io/` annotations,
/// IngressBackend (`policy.flomesh.io/v1alpha1`) and Secret (`v1`).
extension ManifestDecoder {
    static func ingress(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> Ingress {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        try checkIngressAnnotations(try document.required("metadata").optional("annotations"))
        let spec = try document.required("spec")
        var ingress = Ingress(metadata: metadata, ingressClassName: try spec.optionalString("ingressClassName"))
        if let backend = try spec.optional("defaultBackend") { ingress.defaultBackend = try ingressServiceBackend(backend) }
        for node in try spec.optional("rules")?.elements() ?? [] {
            var rule = IngressRule(host: try gatewayHostname(node.optional("host")))
            for pathNode in try node.optional("http")?.required("paths").elements() ?? [] {
                let pathType = try pathNode.required("pathType").oneOf(IngressPathType.self)
                let valueNode = try pathNode.optional("path")
                let path = try valueNode?.string() ?? "/"
                if let valueNode, !path.hasPrefix("/") { throw valueNode.error("a path must start with \"/\", found \(YAMLReader.quoted(path))") }
                rule.paths.append(IngressPath(path: path, pathType: pathType, backend: try ingressServiceBackend(try pathNode.required("backend"))))
            }
            ingress.rules.append(rule)
        }
        for node in try spec.optional("tls")?.elements() ?? [] {
            ingress.tls.append(IngressTLS(hosts: try node.optional("hosts")?.stringList() ?? [], secretName: try node.optionalString("secretName")))
        }
        if ingress.rules.isEmpty && ingress.defaultBackend == nil {
            throw spec.error("an Ingress needs rules or a defaultBackend")
        }
        return ingress
    }

    static func ingressServiceBackend(_ node: YAMLReader) throws(ManifestError) -> IngressServiceBackend {
        let service = try node.required("service")
        let port = try service.required("port")
        let number = try port.optional("number")?.int(in: portRange)
        let name = try port.optionalString("name")
        switch (number, name) {
        case (let number?, nil): return IngressServiceBackend(name: try service.string("name"), port: .int(number))
        case (nil, let name?): return IngressServiceBackend(name: try service.string("name"), port: .string(name))
        default: throw port.error("expected exactly one of number and name")
        }
    }

    /// FSM's ingress annotations (demos.md 6.4): known names only, with the values the guides give.
    static func checkIngressAnnotations(_ node: YAMLReader?) throws(ManifestError) {
        for (key, value) in try node?.entries() ?? [] where key.hasPrefix(Ingress.annotationPrefix) {
            let name = String(key.dropFirst(Ingress.annotationPrefix.count))
            guard Ingress.knownAnnotations.contains(name) else {
                throw value.unknownField(key, allowed: Ingress.knownAnnotations.map { Ingress.annotationPrefix + $0 })
            }
            switch name {
            case "lb-type": _ = try value.oneOf(Ingress.loadBalancerTypes)
            case "session-sticky": _ = try value.oneOf(["true", "false"])
            case "rewrite-target-from": try validateRegex(try value.string(), at: value)
            default: _ = try value.string()
            }
        }
    }

    static func ingressBackend(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> IngressBackend {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        var result = IngressBackend(metadata: metadata)
        for node in try nonEmptyElements(spec, "backends") {
            let port = try node.required("port")
            result.backends.append(IngressBackendTarget(
                name: try node.string("name"), port: try port.required("number").int(in: portRange),
                protocol: try port.required("protocol").oneOf(IngressBackendProtocol.self),
                skipClientCertValidation: try node.optional("tls")?.optional("skipClientCertValidation")?.bool() ?? false))
        }
        for node in try nonEmptyElements(spec, "sources") {
            result.sources.append(try ingressSource(node))
        }
        try checkIngressSources(result, at: spec)
        return result
    }

    static func ingressSource(_ node: YAMLReader) throws(ManifestError) -> IngressBackendSource {
        let nameNode = try node.required("name")
        let name = try nameNode.string()
        switch try node.required("kind").oneOf(["Service", "IPRange", "AuthenticatedPrincipal"]) {
        case "Service":
            let namespaceNode = try node.required("namespace")
            let namespace = try namespaceNode.string()
            try validateLabel(namespace, at: namespaceNode)
            return .service(namespace: namespace, name: name)
        case "IPRange":
            if !isCIDR(name) { throw nameNode.error("expected an IP range in CIDR notation such as 10.0.0.0/8, found \(YAMLReader.quoted(name))") }
            return .ipRange(name)
        default:
            return .authenticatedPrincipal(name)
        }
    }

    /// F2-001: `http` backends take Service or IPRange sources; `https` ones need an AuthenticatedPrincipal.
    static func checkIngressSources(_ backend: IngressBackend, at spec: YAMLReader) throws(ManifestError) {
        let hasPrincipal = backend.sources.contains { if case .authenticatedPrincipal = $0 { true } else { false } }
        let hasNetworkSource = backend.sources.contains { if case .authenticatedPrincipal = $0 { false } else { true } }
        if backend.backends.contains(where: { $0.protocol == .https }), !hasPrincipal {
            throw try spec.required("sources").error("an https backend needs an AuthenticatedPrincipal source (the client certificate's SAN)")
        }
        if backend.backends.contains(where: { $0.protocol == .http }), !hasNetworkSource {
            throw try spec.required("sources").error("an http backend needs a Service or IPRange source")
        }
    }

    static func secret(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> Secret {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        var secret = Secret(metadata: metadata, type: try document.optionalString("type") ?? "Opaque")
        for (key, value) in try document.optional("data")?.entries() ?? [] {
            guard value.isScalar, let text = try? value.scalarText(), let bytes = Base64.decode(text) else {
                // The value is secret: the message does not repeat it.
                throw value.error("expected base64 data (A-Z, a-z, 0-9, +, / with = padding); the value is not repeated here")
            }
            secret.data[key] = bytes
        }
        for (key, value) in try document.optional("stringData")?.entries() ?? [] {
            secret.data[key] = Array(try value.string().utf8)
        }
        if secret.type == Secret.tlsType {
            for key in [Secret.certificateKey, Secret.privateKeyKey] where secret.data[key] == nil {
                throw document.error("a kubernetes.io/tls Secret needs data[\"\(key)\"]")
            }
        }
        return secret
    }
}

/// Standard base64 (RFC 4648, with padding; whitespace ignored), as Secret `data` holds it.
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(byte - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(byte - 71)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(byte + 4)
            case UInt8(ascii: "+"): values.append(62)
            case UInt8(ascii: "/"): values.append(63)
            case UInt8(ascii: "="): padding += 1; continue
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): continue
            default: return nil
            }
            if padding > 0 { return nil }
        }
        guard (values.count + padding) % 4 == 0, padding <= 2 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index + 1 < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            let a = chunk[chunk.startIndex], b = chunk[chunk.startIndex + 1]
            out.append(a << 2 | b >> 4)
            if chunk.count > 2 { out.append((b & 0x0F) << 4 | chunk[chunk.startIndex + 2] >> 2) }
            if chunk.count > 3 { out.append((chunk[chunk.startIndex + 2] & 0x03) << 6 | chunk[chunk.startIndex + 3]) }
            index += 4
        }
        return out
    }
}
