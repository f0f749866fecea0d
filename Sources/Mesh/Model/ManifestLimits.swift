/// Upper bounds on what a manifest (or a scenario file) may ask for, so that no input runs for
/// hours or allocates gigabytes by mistake. Each is far above what the guides' demos and the
/// shipped scale scenario (10,010 pods, 2,010 documents, 0.6 MB) need; docs/SCENARIOS.md lists
/// them with their error texts. Kubernetes' own limits are used where it has one.
public enum ManifestLimits {
    /// Bytes of one input file (a manifest file or a scenario file): 16 MiB.
    public static let maxFileBytes = 16 << 20
    /// YAML documents in one text (a manifest file, a scenario's `manifests:` or one `apply:`).
    public static let maxDocuments = 10_000
    /// `spec.replicas` of one Deployment or StatefulSet.
    public static let maxReplicas = 10_000
    /// Pods of one manifest set (every workload's replicas plus the bare Pods): twice the shipped scale scenario.
    public static let maxPods = 20_000
    /// A label value, and the name part of a label key (Kubernetes).
    public static let maxLabelLength = 63
    /// All annotations of one object together, keys and values (Kubernetes: 256 KiB).
    public static let maxAnnotationBytes = 256 << 10

    /// A limit in words: `16777216 bytes (16 MiB)`, `262144 bytes (256 KiB)`.
    public static func describeLimit(_ bytes: Int) -> String {
        if bytes % (1 << 20) == 0 { return "\(bytes) bytes (\(bytes >> 20) MiB)" }
        if bytes % (1 << 10) == 0 { return "\(bytes) bytes (\(bytes >> 10) KiB)" }
        return "\(bytes) bytes"
    }
}
