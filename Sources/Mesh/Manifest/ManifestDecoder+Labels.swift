import MeshModel

/// Labels, selectors and annotations with Kubernetes' syntax and size limits
/// (k8s.io/apimachinery validation: qualified names, label values, 256 KiB of annotations).
extension ManifestDecoder {
    /// Labels or a label selector's `matchLabels`: keys are qualified names, values label values.
    static func labels(_ node: YAMLReader?) throws(ManifestError) -> [String: String] {
        guard let node else { return [:] }
        var result: [String: String] = [:]
        for (key, value) in try node.entries() {
            try validateQualifiedName(key, at: value, what: "label key")
            let text = try value.string()
            if let problem = labelValueProblem(text) {
                throw value.error("invalid label value \(YAMLReader.quoted(text)): \(problem)")
            }
            result[key] = text
        }
        return result
    }

    /// Annotations: keys are qualified names; keys and values together at most 256 KiB.
    static func annotations(_ node: YAMLReader?) throws(ManifestError) -> [String: String] {
        guard let node else { return [:] }
        var result: [String: String] = [:]
        var total = 0
        for (key, value) in try node.entries() {
            try validateQualifiedName(key, at: value, what: "annotation key")
            let text = try value.string()
            total += key.utf8.count + text.utf8.count
            result[key] = text
        }
        if total > ManifestLimits.maxAnnotationBytes {
            throw node.error("annotations take \(total) bytes; at most \(ManifestLimits.describeLimit(ManifestLimits.maxAnnotationBytes)) (Kubernetes' limit)")
        }
        return result
    }

    /// Empty, or at most 63 characters of `[A-Za-z0-9-_.]` starting and ending alphanumeric.
    static func labelValueProblem(_ value: String) -> String? {
        if value.utf8.count > ManifestLimits.maxLabelLength {
            return "must be at most \(ManifestLimits.maxLabelLength) characters, found \(value.count)"
        }
        if value.isEmpty || isLabelName(value) { return nil }
        return "a label value must be empty or consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character"
    }

    /// `[prefix/]name`: the prefix a DNS subdomain, the name 1-63 characters of `[A-Za-z0-9-_.]`
    /// starting and ending alphanumeric. The error is at the key.
    static func validateQualifiedName(_ key: String, at value: YAMLReader, what: String) throws(ManifestError) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        let name = parts.last ?? ""
        var problem: String?
        if parts.count > 2 {
            problem = "a \(what) is a name with an optional DNS-subdomain prefix and one '/' (e.g. 'example.com/my-name')"
        } else if parts.count == 2, !isDNSSubdomain(parts[0]) {
            problem = "the prefix before '/' must be a lowercase DNS subdomain of at most 253 characters (e.g. 'example.com')"
        } else if name.utf8.count > ManifestLimits.maxLabelLength {
            problem = "the name part must be at most \(ManifestLimits.maxLabelLength) characters, found \(name.count)"
        } else if !isLabelName(name) {
            problem = "the name part must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character"
        }
        if let problem {
            throw ManifestError(at: value.keyLocation, path: value.path, message: "invalid \(what) \(YAMLReader.quoted(key)): \(problem)")
        }
    }

    private static func isLabelName(_ text: Substring) -> Bool {
        let bytes = text.utf8
        func alphanumeric(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) }
        guard let first = bytes.first, let last = bytes.last, alphanumeric(first), alphanumeric(last) else { return false }
        return bytes.allSatisfy { alphanumeric($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E }
    }

    private static func isLabelName(_ text: String) -> Bool { isLabelName(Substring(text)) }
}
