import Foundation
import MeshControl

/// The network `fsm up --pods netns` builds on this machine, as a CNI bridge plugin would: a
/// bridge holding the gateway address (where the controller listens), and per pod a network
/// namespace joined to the bridge by a veth pair (`eth0` inside, with the pod's IP and a default
/// route through the gateway, so that cluster IPs route and the pod's nat rules see them), plus
/// one FORWARD rule accepting traffic between the bridge's ports (a host whose FORWARD policy is
/// DROP, as Docker sets it, would drop bridged traffic once br_netfilter is loaded).
///
/// Every piece is recorded in the state before it is made, so `fsm down` removes exactly what
/// was made even after a crash. Pure: the names, addresses and `ip`/`iptables` arguments.
public struct PodNetwork: Codable, Sendable, Equatable {
    /// One pod's namespace and the host end of its veth pair.
    public struct PodLink: Codable, Sendable, Equatable {
        public var pod: String
        public var netns: String
        public var hostVeth: String
        public var ip: String
    }

    /// Six hex digits naming this state dir's pieces (`fsm-<tag>`, `fsm-<tag>-<n>`).
    public var tag: String
    public var bridge: String
    public var gateway: String
    public var prefixLength: Int
    public var pods: [PodLink] = []
    /// Whether the FORWARD rule may exist (recorded before it is added).
    public var forwardRule = false

    public init(tag: String, gateway: String, prefixLength: Int = 24) {
        self.tag = tag
        bridge = "fsm-\(tag)"
        self.gateway = gateway
        self.prefixLength = prefixLength
    }

    /// FNV-1a of the state directory's path, six hex digits: one state dir, one set of names.
    public static func tag(stateDirectory: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in stateDirectory.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        let hex = String(hash & 0xFF_FFFF, radix: 16)
        return String(repeating: "0", count: 6 - hex.count) + hex
    }

    /// The pod network for pods numbered from `firstPodIP`: its /24, the gateway `.1`. Nil (with
    /// the reason) when the pods would not fit in it.
    public static func plan(stateDirectory: String, firstPodIP: String, podCount: Int, firstServiceIP: String) -> Result<PodNetwork, PodNetworkProblem> {
        guard let first = AddressPlan.parse(firstPodIP), let service = AddressPlan.parse(firstServiceIP) else {
            return .failure(PodNetworkProblem("--first-pod-ip and --first-service-ip must be IPv4 addresses"))
        }
        let mask: UInt32 = 0xFFFF_FF00
        let last = first &+ UInt32(max(0, podCount - 1))
        guard first & 0xFF >= 2, last & mask == first & mask, last & 0xFF <= 254 else {
            return .failure(PodNetworkProblem("\(podCount) pods from \(firstPodIP) do not fit in \(AddressPlan.format(first & mask))/24 between .2 and .254 (.1 is the gateway): choose another --first-pod-ip"))
        }
        guard service & mask != first & mask else {
            return .failure(PodNetworkProblem("--first-service-ip \(firstServiceIP) is in the pod network \(AddressPlan.format(first & mask))/24: cluster IPs need a range of their own"))
        }
        return .success(PodNetwork(tag: tag(stateDirectory: stateDirectory), gateway: AddressPlan.format(first & mask | 1)))
    }

    /// The subnet, `10.244.0.0/24`.
    public var subnet: String {
        let gatewayAddress = AddressPlan.parse(gateway) ?? 0
        let mask: UInt32 = prefixLength == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefixLength)
        return "\(AddressPlan.format(gatewayAddress & mask))/\(prefixLength)"
    }

    /// The link of the `index`-th pod: namespace `fsm-<tag>-<ns>-<name>`, host veth `fsm-<tag>-<index>`.
    public func link(pod: String, ip: String, index: Int) -> PodLink {
        PodLink(pod: pod, netns: "fsm-\(tag)-" + pod.replacingOccurrences(of: "/", with: "-"), hostVeth: "fsm-\(tag)-\(index)", ip: ip)
    }

    /// `ip` arguments that make the bridge with the gateway address.
    public var bridgeCommands: [[String]] {
        [["link", "add", bridge, "type", "bridge"], ["addr", "add", "\(gateway)/\(prefixLength)", "dev", bridge], ["link", "set", bridge, "up"]]
    }

    /// `ip` arguments that make a pod's namespace and join it to the bridge.
    public func podCommands(_ link: PodLink) -> [[String]] {
        [
            ["netns", "add", link.netns],
            ["link", "add", link.hostVeth, "type", "veth", "peer", "name", "eth0", "netns", link.netns],
            ["link", "set", link.hostVeth, "master", bridge],
            ["link", "set", link.hostVeth, "up"],
            ["-n", link.netns, "link", "set", "lo", "up"],
            ["-n", link.netns, "addr", "add", "\(link.ip)/\(prefixLength)", "dev", "eth0"],
            ["-n", link.netns, "link", "set", "eth0", "up"],
            ["-n", link.netns, "route", "add", "default", "via", gateway],
        ]
    }

    /// The rule (after `-I`/`-D`) that lets traffic cross the bridge.
    public var forwardRuleArguments: [String] {
        ["FORWARD", "-i", bridge, "-o", bridge, "-m", "comment", "--comment", "fsm up \(tag)", "-j", "ACCEPT"]
    }

    /// `ip` arguments that remove everything, pods first (deleting a namespace deletes its veth pair).
    public var teardownCommands: [[String]] {
        pods.flatMap { [["netns", "delete", $0.netns], ["link", "delete", $0.hostVeth]] } + [["link", "delete", bridge]]
    }
}

/// Why the pod network cannot be planned or made: one line.
public struct PodNetworkProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
