import MeshModel

/// What stands in for the API server and the kubelet when the mesh runs the cluster itself (the
/// simulator, and the one-machine mode that reads a manifest directory): namespaces the mesh was
/// told to watch are enrolled as `fsm namespace add` would, workloads are stamped out into pods
/// named `<workload>-<ordinal>`, and pods and services get addresses from an `AddressPlan`.
public enum ClusterConventions {
    public static let monitoredLabel = InjectionRule.monitoredLabel
    public static let injectionAnnotation = InjectionRule.injectionAnnotation
    public static let namespaceNameLabel = "kubernetes.io/metadata.name"

    public static func podName(workload: String, ordinal: Int) -> String { "\(workload)-\(ordinal)" }

    /// The ordinal of a pod stamped out of a workload (`bookstore-v1-2` → 2), nil for other names.
    public static func ordinal(ofPod name: String) -> Int? {
        guard let dash = name.lastIndex(of: "-") else { return nil }
        return Int(name[name.index(after: dash)...])
    }

    /// The workload's pods, ordinal 0 first, without addresses. A negative replica count is none.
    public static func pods(of workload: Workload) -> [Pod] {
        (0..<max(0, workload.replicas)).map { ordinal in
            var metadata = workload.template.metadata
            metadata.name = podName(workload: workload.metadata.name, ordinal: ordinal)
            metadata.namespace = workload.metadata.namespace
            return Pod(metadata: metadata, spec: workload.template.spec)
        }
    }

    /// The namespace as the mesh sees it: a mesh namespace gets the monitored-by label and the
    /// injection annotation unless it sets them itself; every namespace gets its name label.
    public static func enrolled(_ namespace: Namespace, meshNamespaces: Set<String>, meshName: String) -> Namespace {
        var ns = namespace
        if meshNamespaces.contains(ns.metadata.name) {
            if ns.metadata.labels[monitoredLabel] == nil { ns.metadata.labels[monitoredLabel] = meshName }
            if ns.metadata.annotations[injectionAnnotation] == nil { ns.metadata.annotations[injectionAnnotation] = "enabled" }
        }
        if ns.metadata.labels[namespaceNameLabel] == nil { ns.metadata.labels[namespaceNameLabel] = ns.metadata.name }
        return ns
    }
}

/// Where pod and service addresses come from: the n-th pod (or service) ever created gets the
/// n-th address after the first. Addresses are never reused, so a re-created pod of the same name
/// keeps its address wherever the creator remembers it.
public struct AddressPlan: Hashable, Sendable {
    public var firstPod: UInt32
    public var firstService: UInt32

    public init(firstPod: UInt32, firstService: UInt32) {
        self.firstPod = firstPod
        self.firstService = firstService
    }

    /// The simulator's: pods from 10.244.0.10, services from 10.96.0.10.
    public static let simulator = AddressPlan(firstPod: 10 << 24 | 244 << 16 | 10, firstService: 10 << 24 | 96 << 16 | 10)
    /// One machine: pods from 127.1.0.10, services from 127.2.0.10 (Linux routes all of 127/8 to lo).
    public static let loopback = AddressPlan(firstPod: 127 << 24 | 1 << 16 | 10, firstService: 127 << 24 | 2 << 16 | 10)

    public func podAddress(_ n: Int) -> UInt32 { firstPod &+ UInt32(truncatingIfNeeded: n) }
    public func serviceAddress(_ n: Int) -> UInt32 { firstService &+ UInt32(truncatingIfNeeded: n) }

    public static func format(_ ip: UInt32) -> String {
        "\(ip >> 24).\((ip >> 16) & 255).\((ip >> 8) & 255).\(ip & 255)"
    }

    /// Dotted quad → integer; nil for anything else.
    /// Scans the string's UTF-8 buffer in place (`withUTF8` copies only a string that has none):
    /// the simulator parses each upstream endpoint per request, and the `utf8` view's iterator cost
    /// ~500 instructions a call.
    public static func parse(_ text: String) -> UInt32? {
        var text = text
        return text.withUTF8 { parse(bytes: $0) }
    }

    private static func parse(bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var value: UInt32 = 0, part: UInt32 = 0, parts = 0, digits = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                value = value << 8 | part
                part = 0; digits = 0; parts += 1
            } else if byte >= 48 && byte <= 57 {
                part = part * 10 + UInt32(byte - 48)
                digits += 1
                guard part <= 255, digits <= 3 else { return nil }
            } else {
                return nil
            }
        }
        guard parts == 3, digits > 0 else { return nil }
        return value << 8 | part
    }
}
