import MeshModel

/// FSM's EgressGateway (`policy.flomesh.io/v1alpha1`, guides 3.8.2): `spec.global[]` names the
/// gateway Services. A missing service or namespace, or a transport other than the tunnel, is a
/// file:line error (DECISIONS 193).
extension ManifestDecoder {
    static let egressGatewayModes = ["http2tunnel", "socks5"]

    static let egressGatewaySpec = FieldSchema.object([
        "global": .list(.object(["service": .string, "namespace": .string, "mode": .oneOf(egressGatewayModes)],
                                required: ["service", "namespace"]), minItems: 1),
    ], required: ["global"])

    static func egressGateway(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> EgressGateway {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        var gateway = EgressGateway(metadata: metadata)
        for node in try nonEmptyElements(spec, "global") {
            let serviceNode = try node.required("service")
            let service = try serviceNode.string()
            try validateServiceName(service, at: serviceNode)
            let namespaceNode = try node.required("namespace")
            let namespace = try namespaceNode.string()
            try validateLabel(namespace, at: namespaceNode)
            gateway.global.append(EgressGatewayBackend(service: service, namespace: namespace, mode: try egressGatewayMode(node)))
        }
        return gateway
    }

    /// `http2tunnel` when not given; `socks5` is FSM's other transport, not built here.
    private static func egressGatewayMode(_ node: YAMLReader) throws(ManifestError) -> EgressGatewayMode {
        guard let modeNode = try node.optional("mode") else { return .http2tunnel }
        let name = try modeNode.oneOf(egressGatewayModes)
        guard let mode = EgressGatewayMode(rawValue: name) else {
            throw modeNode.error("mode \(name) is not supported yet; supported: \(EgressGatewayMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return mode
    }
}
