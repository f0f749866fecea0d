import MeshRedirect

/// The maps of the capture object (`fsm_capture.bpf.c`), by the names they are pinned under.
public enum CaptureMap: String, CaseIterable, Sendable {
    /// Pod address → its settings (`struct fsm_pod`).
    case pods = "fsm_pods"
    /// Pod cgroup id → pod address.
    case cgroups = "fsm_cgroups"
    /// (pod, port, direction) → 1: ports that bypass the sidecar.
    case ports = "fsm_ports"
    /// (pod, range) LPM trie: outbound destinations never captured.
    case excludedRanges = "fsm_excl_ranges"
    /// (pod, range) LPM trie: with any entry for a pod, only these destinations are captured.
    case includedRanges = "fsm_incl_ranges"
    /// Socket cookie → original destination, until the connection is established.
    case cookieDestinations = "fsm_cookie_dst"
    /// Connection 4-tuple → original destination (what SO_ORIGINAL_DST answers).
    case pairDestinations = "fsm_pair_dst"
    /// Same-host sockets for the sk_msg shortcut.
    case sockets = "fsm_sockets"
    /// Slot 0: global flags (acceleration).
    case settings = "fsm_settings"
    /// Per-CPU counters (`InterceptorStatistics`).
    case statistics = "fsm_stats"
}

/// One key and value for one map, as bytes in the C layout of `fsm_capture.h`: addresses in
/// network byte order, ports, ids and flags in the host's.
public struct CaptureMapEntry: Hashable, Sendable {
    public var map: CaptureMap
    public var key: [UInt8]
    public var value: [UInt8]

    public init(map: CaptureMap, key: [UInt8], value: [UInt8]) {
        self.map = map
        self.key = key
        self.value = value
    }
}

/// The C structs' bytes, field by field.
struct CLayout {
    private(set) var bytes: [UInt8] = []

    mutating func native<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value) { bytes += $0 }
    }

    /// An IPv4 address given in host byte order, stored in network byte order.
    mutating func networkAddress(_ address: UInt32) {
        native(address.bigEndian)
    }
}

extension CaptureMapEntry {
    static let directionOutbound: UInt8 = 1
    static let directionInbound: UInt8 = 2
    static let podHasInclusions: UInt32 = 1
    static let settingAccelerate: UInt32 = 1

    /// `fsm_settings[0]`.
    public static func settings(accelerate: Bool) -> CaptureMapEntry {
        var key = CLayout(), value = CLayout()
        key.native(UInt32(0))
        value.native(accelerate ? settingAccelerate : 0)
        return CaptureMapEntry(map: .settings, key: key.bytes, value: value.bytes)
    }
}

extension InterceptorPod {
    /// Every entry that describes this pod to the programs, given the cgroup ids of its cgroup and
    /// of its sidecar's (0: none): its settings, its cgroup, the ports that bypass the sidecar (the
    /// reserved ports both ways, the outbound and inbound exclusions), and its address ranges.
    public func mapEntries(cgroupID: UInt64, sidecarCgroupID: UInt64) -> [CaptureMapEntry] {
        [podEntry(sidecarCgroupID: sidecarCgroupID), cgroupEntry(cgroupID)] + portEntries()
            + settings.outboundIPRangeExclusions.map { rangeEntry($0, in: .excludedRanges) }
            + settings.outboundIPRangeInclusions.map { rangeEntry($0, in: .includedRanges) }
    }

    /// The keys to delete when the pod goes (the entries' values do not matter).
    public func mapKeys(cgroupID: UInt64) -> [CaptureMapEntry] {
        mapEntries(cgroupID: cgroupID, sidecarCgroupID: 0)
    }

    private var addressKey: [UInt8] {
        var key = CLayout()
        key.networkAddress(address)
        return key.bytes
    }

    private func podEntry(sidecarCgroupID: UInt64) -> CaptureMapEntry {
        var value = CLayout()
        value.native(UInt32(settings.proxyUID))
        value.native(UInt16(settings.outboundListenerPort))
        value.native(UInt16(settings.inboundListenerPort))
        value.native(sidecarCgroupID)
        value.native(settings.outboundIPRangeInclusions.isEmpty ? 0 : CaptureMapEntry.podHasInclusions)
        value.native(UInt32(0))
        return CaptureMapEntry(map: .pods, key: addressKey, value: value.bytes)
    }

    private func cgroupEntry(_ cgroupID: UInt64) -> CaptureMapEntry {
        var key = CLayout()
        key.native(cgroupID)
        return CaptureMapEntry(map: .cgroups, key: key.bytes, value: addressKey)
    }

    private func portEntries() -> [CaptureMapEntry] {
        var rules: [(port: Int, direction: UInt8)] = []
        for port in settings.bypassPorts {
            rules += [(port, CaptureMapEntry.directionOutbound), (port, CaptureMapEntry.directionInbound)]
        }
        rules += settings.outboundPortExclusions.map { ($0, CaptureMapEntry.directionOutbound) }
        rules += settings.inboundPortExclusions.map { ($0, CaptureMapEntry.directionInbound) }
        var seen = Set<[UInt8]>()
        return rules.compactMap { rule in
            var key = CLayout()
            key.networkAddress(address)
            key.native(UInt16(rule.port))
            key.native(rule.direction)
            key.native(UInt8(0))
            guard seen.insert(key.bytes).inserted else { return nil }
            return CaptureMapEntry(map: .ports, key: key.bytes, value: [1])
        }
    }

    /// An LPM trie key: the pod's address (32 bits) then the range's prefix.
    private func rangeEntry(_ range: IPv4Range, in map: CaptureMap) -> CaptureMapEntry {
        var key = CLayout()
        key.native(UInt32(32 + range.prefixLength))
        key.networkAddress(address)
        key.networkAddress(range.networkAddress)
        return CaptureMapEntry(map: map, key: key.bytes, value: [1])
    }
}
