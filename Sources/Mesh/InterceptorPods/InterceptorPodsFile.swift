import MeshInterceptor
import MeshManifest
import MeshModel
import MeshRedirect

/// `fsm interceptor --pods FILE`: the pods to capture, one entry each, as a node agent would learn
/// them (CNI hands it the network namespace, the API the annotations):
///
/// ```yaml
/// pods:
/// - name: bookstore/bookstore-0          # how messages name it (default: the address)
///   ip: 10.87.0.12                       # the pod's IPv4 address
///   cgroup: /sys/fs/cgroup/unified/fsm/bookstore-0   # its cgroup v2 directory
///   sidecarCgroup: /sys/fs/cgroup/unified/fsm/bookstore-0/sidecar   # optional
///   netns: /var/run/netns/bookstore-0    # optional: capture inbound connections from anywhere
///   annotations:                         # optional: the pod's flomesh.io/*-list annotations
///     flomesh.io/outbound-port-exclusion-list: "6379"
/// ```
///
/// Errors are `file:line:column: field: what was expected`, like every manifest.
public enum InterceptorPodsFile {
    static let topKeys = ["pods"]
    static let podKeys = ["name", "ip", "cgroup", "sidecarCgroup", "netns", "annotations"]
    /// `fsm_pods` holds this many entries.
    public static let maxPods = 1024

    /// What every pod shares: the mesh-wide lists and the sidecar's uid and ports.
    public struct Defaults: Sendable {
        public var meshConfig: MeshConfig
        public var proxyUID: Int
        public var outboundListenerPort: Int
        public var inboundListenerPort: Int

        public init(meshConfig: MeshConfig = MeshConfig(), proxyUID: Int = RedirectSettings.defaultProxyUID,
                    outboundListenerPort: Int = RedirectSettings.defaultOutboundListenerPort, inboundListenerPort: Int = RedirectSettings.defaultInboundListenerPort) {
            self.meshConfig = meshConfig
            self.proxyUID = proxyUID
            self.outboundListenerPort = outboundListenerPort
            self.inboundListenerPort = inboundListenerPort
        }
    }

    public static func decode(_ text: String, file: String, defaults: Defaults) throws(ManifestError) -> [InterceptorPod] {
        let document = try YAMLReader.document(text: text, file: file)
        try document.checkKnownKeys(topKeys)
        let list = try document.required("pods")
        let entries = try list.elements()
        if entries.isEmpty { throw list.error("expected at least one pod") }
        if entries.count > maxPods { throw entries[maxPods].error("more than \(maxPods) pods (the capture maps hold \(maxPods))") }
        var pods: [InterceptorPod] = []
        var seen: [UInt32: YAMLReader] = [:]
        for entry in entries {
            let pod = try decodePod(entry, defaults: defaults)
            let ip = try entry.required("ip")
            if let first = seen[pod.address] {
                throw ip.error("pod address \(pod.addressText) is given twice (first at \(first.location))")
            }
            seen[pod.address] = ip
            pods.append(pod)
        }
        return pods
    }

    static func decodePod(_ entry: YAMLReader, defaults: Defaults) throws(ManifestError) -> InterceptorPod {
        try entry.checkKnownKeys(podKeys)
        let ipNode = try entry.required("ip")
        guard let address = IPv4Range.address(try ipNode.string()) else {
            throw ipNode.error("expected an IPv4 address such as 10.244.0.10, found \(ipNode.foundDescription)")
        }
        let cgroup = try absolutePath(entry, "cgroup", required: true) ?? ""
        let annotationsNode = try entry.optional("annotations")
        let annotations = try annotationsNode?.stringMap() ?? [:]
        let settings: RedirectSettings
        do {
            settings = try RedirectSettings(meshConfig: defaults.meshConfig, podAnnotations: annotations, proxyUID: defaults.proxyUID,
                                            outboundListenerPort: defaults.outboundListenerPort, inboundListenerPort: defaults.inboundListenerPort)
        } catch {
            throw (annotationsNode ?? entry).error("\(error)")
        }
        return InterceptorPod(name: try entry.optionalString("name") ?? IPv4Range.dottedQuad(address), address: address, cgroupPath: cgroup,
                              sidecarCgroupPath: try absolutePath(entry, "sidecarCgroup", required: false),
                              networkNamespacePath: try absolutePath(entry, "netns", required: false), settings: settings)
    }

    static func absolutePath(_ entry: YAMLReader, _ key: String, required: Bool) throws(ManifestError) -> String? {
        guard let node = required ? try entry.required(key) : try entry.optional(key) else { return nil }
        let path = try node.string()
        guard path.hasPrefix("/") else { throw node.error("expected an absolute path, found \(node.foundDescription)") }
        return path
    }
}
