/// Checks that hold across the documents of one desired state (a manifest directory, a scenario's
/// `manifests:`, one `apply:`), where each document decoded on its own: no resource is defined
/// twice, no two Pods claim one IP, and the pods stay within `ManifestLimits.maxPods`.
///
/// Each problem names both places (`b.yaml:10:1: Service default/web is already defined at
/// a.yaml:3:1`); the later document is the one left out, so the result does not depend on which
/// file changed last.
public struct ManifestSet: Sendable {
    /// The resources kept, in their order.
    public private(set) var accepted: [DecodedResource] = []
    /// One error per document left out, at that document.
    public private(set) var problems: [ManifestError] = []

    private var defined: [ResourceKey: SourceLocation] = [:]
    private var podIPs: [String: (pod: ResourceKey, location: SourceLocation)] = [:]
    private var pods = 0
    private let podLimit: Int

    public init(podLimit: Int = ManifestLimits.maxPods) {
        self.podLimit = podLimit
    }

    /// Checks `resources` in order (after any added before).
    public init(_ resources: [DecodedResource], podLimit: Int = ManifestLimits.maxPods) {
        self.init(podLimit: podLimit)
        for resource in resources { add(resource) }
    }

    /// Adds one document's resource, or records why it is left out.
    public mutating func add(_ decoded: DecodedResource) {
        if let problem = problem(with: decoded) {
            problems.append(problem)
            return
        }
        let resource = decoded.resource
        defined[resource.key] = decoded.location
        if case .pod(let pod) = resource, let ip = pod.podIP { podIPs[ip] = (resource.key, decoded.location) }
        pods += Self.podCount(resource)
        accepted.append(decoded)
    }

    private func problem(with decoded: DecodedResource) -> ManifestError? {
        let resource = decoded.resource
        let name = Self.describe(resource.key)
        if let first = defined[resource.key] {
            return ManifestError(at: decoded.location, message: "\(name) is already defined at \(first)")
        }
        if case .pod(let pod) = resource, let ip = pod.podIP, let other = podIPs[ip] {
            return ManifestError(at: decoded.location, message: "\(name) has IP \(ip), which \(Self.describe(other.pod)) at \(other.location) already has")
        }
        let count = Self.podCount(resource)
        if count > 0, pods + count > podLimit {
            return ManifestError(at: decoded.location, message: "\(name) brings the pods to \(pods + count); at most \(podLimit) pods in one set of manifests")
        }
        return nil
    }

    /// `Service default/web`, `Namespace bookstore`.
    public static func describe(_ key: ResourceKey) -> String {
        key.namespace.isEmpty ? "\(key.kind.rawValue) \(key.name)" : "\(key.kind.rawValue) \(key.namespace)/\(key.name)"
    }

    /// The pods a resource stands for: a workload's replicas, one for a Pod.
    public static func podCount(_ resource: Resource) -> Int {
        switch resource {
        case .workload(let workload): max(0, workload.replicas)
        case .pod: 1
        default: 0
        }
    }
}
