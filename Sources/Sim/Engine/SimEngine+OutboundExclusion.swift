import MeshControl
import MeshModel
import MeshProxy

/// MeshConfig `traffic.outboundIPRangeExclusionList` (demos.md 6.3, outbound_ip_exclusion.md): the
/// init container's iptables rules let traffic to these ranges leave the pod past its sidecar.
/// They are programmed when the pod starts, so a changed list reaches a pod only when it restarts
/// (the demo's `kubectl rollout restart`); the pod then reaches those addresses as a pod without
/// a sidecar would, whatever the mesh's egress settings (DECISIONS 223).
extension SimEngine {
    /// The pod's capture as its init container programs it now (at its start or restart).
    func programOutboundExclusions(_ pod: Int) {
        let ranges = pods[pod].hasSidecar ? controller.meshConfig.traffic.outboundIPRangeExclusionList.compactMap(OutboundExclusion.range) : []
        outboundExclusions[pod] = ranges.isEmpty ? nil : ranges
    }

    /// Whether the pod's traffic to `destination` skips its sidecar.
    func bypassesSidecar(_ pod: Int, to destination: SocketAddress?) -> Bool {
        guard !outboundExclusions.isEmpty, let ranges = outboundExclusions[pod], let destination, let ip = IPv4.parse(destination.ip) else { return false }
        return ranges.contains { ip & $0.mask == $0.base }
    }
}

/// The ranges of `outboundIPRangeExclusionList`, for the simulator and real mode alike.
public enum OutboundExclusion {
    /// `a.b.c.d/n` (the manifest decoder checked the notation) as a base and mask.
    static func range(_ text: String) -> (base: UInt32, mask: UInt32)? {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let base = IPv4.parse(String(parts[0])), let bits = Int(parts[1]), (0...32).contains(bits) else { return nil }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << UInt32(32 - bits)
        return (base & mask, mask)
    }

    /// Whether `address` is in one of `ranges`.
    public static func contains(_ ranges: [String], address: String) -> Bool {
        guard let ip = IPv4.parse(address) else { return false }
        return ranges.compactMap(range).contains { ip & $0.mask == $0.base }
    }
}
