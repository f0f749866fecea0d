import MeshModel

/// FSM's AccessCert (`policy.flomesh.io/v1alpha1`).
extension ManifestDecoder {
    static let accessCertSpec = FieldSchema.object([
        "subjectAltNames": .list(.string, minItems: 1),
        "secret": .object(["name": .string, "namespace": .string], required: ["name"]),
    ], required: ["subjectAltNames", "secret"])

    static func accessCert(_ document: YAMLReader, defaultNamespace: String) throws(ManifestError) -> AccessCert {
        let metadata = try metadata(document, namespace: .defaulted(defaultNamespace))
        let spec = try document.required("spec")
        var names: [String] = []
        for node in try nonEmptyElements(spec, "subjectAltNames") {
            let name = try node.string()
            guard isDNSSubdomain(Substring(name)) else {
                throw node.error("expected a DNS name such as curl.curl.cluster.local (lowercase letters, digits, '-' and '.'), found \(YAMLReader.quoted(name))")
            }
            guard !names.contains(name) else { throw node.error("subject alternative name \(YAMLReader.quoted(name)) is listed twice") }
            names.append(name)
        }
        let secretNode = try spec.required("secret")
        let nameNode = try secretNode.required("name")
        let secretName = try nameNode.string()
        try validateName(secretName, at: nameNode)
        var secretNamespace = metadata.namespace
        if let namespaceNode = try secretNode.optional("namespace") {
            secretNamespace = try namespaceNode.string()
            try validateLabel(secretNamespace, at: namespaceNode)
        }
        return AccessCert(metadata: metadata, subjectAltNames: names, secret: SecretReference(namespace: secretNamespace, name: secretName))
    }
}
