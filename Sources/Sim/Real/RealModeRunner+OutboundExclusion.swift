import MeshModel
import SimCore

/// MeshConfig `traffic.outboundIPRangeExclusionList` in a real run, as the simulator models it
/// (`SimEngine+OutboundExclusion`, DECISIONS 223): a meshed pod's capture, programmed at its start
/// or restart, lets traffic to those ranges past its sidecar. Local mode has no capture, so a load
/// from such a pod to an excluded destination dials it directly (`RealKubeProxy`, bound to the
/// pod's address) instead of the sidecar's outbound listener. The ranges are the scenario's
/// addresses: an external host is excluded by its scenario `ip`, and reached at its loopback one.
extension RealModeRunner {
    /// The direct dialler for a load from a pod whose capture excludes `ranges`; nil when the
    /// load's destination is not excluded (it goes through the sidecar).
    static func pastTheSidecar(_ url: LoadURL, ranges: [String], scenario: Scenario, cluster: RealCluster) -> RealKubeProxy? {
        guard !ranges.isEmpty, !url.isTCP else { return nil }
        let host = url.host.lowercased()
        let target: String
        if let external = scenario.externalHosts.first(where: { $0.host == host }), let local = cluster.externalIPs[host] {
            guard OutboundExclusion.contains(ranges, address: external.ip) else { return nil }
            target = local
        } else {
            guard OutboundExclusion.contains(ranges, address: host) else { return nil }
            target = host
        }
        return RealKubeProxy(targets: [RealKubeProxy.Target(host: target, port: url.port)])
    }
}
