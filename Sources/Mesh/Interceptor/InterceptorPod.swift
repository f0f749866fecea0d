import MeshRedirect

/// A meshed pod whose traffic `fsm interceptor` captures with eBPF: where its processes are (its
/// cgroup v2 directory, and optionally the sidecar's own cgroup), its network namespace (for the
/// tc programs that capture inbound connections from anywhere), its address, and the capture
/// settings iptables mode would use for it (`RedirectSettings`: the MeshConfig lists united with
/// the pod's annotations, the proxy uid and listener ports).
public struct InterceptorPod: Hashable, Sendable {
    /// How messages name the pod (`namespace/name`, or its address).
    public var name: String
    /// The pod's IPv4 address, host byte order.
    public var address: UInt32
    public var cgroupPath: String
    /// The sidecar's own cgroup (a descendant of `cgroupPath`): its connections are never captured,
    /// whatever its uid. Nil: the proxy uid alone tells the sidecar apart.
    public var sidecarCgroupPath: String?
    /// The pod's network namespace (`/var/run/netns/NAME`, `/proc/PID/ns/net`). Nil: no tc
    /// programs, so only connections from meshed pods of this node reach the inbound listener.
    public var networkNamespacePath: String?
    public var settings: RedirectSettings

    public init(name: String, address: UInt32, cgroupPath: String, sidecarCgroupPath: String? = nil, networkNamespacePath: String? = nil, settings: RedirectSettings) {
        self.name = name
        self.address = address
        self.cgroupPath = cgroupPath
        self.sidecarCgroupPath = sidecarCgroupPath
        self.networkNamespacePath = networkNamespacePath
        self.settings = settings
    }

    public var addressText: String { IPv4Range.dottedQuad(address) }
}
