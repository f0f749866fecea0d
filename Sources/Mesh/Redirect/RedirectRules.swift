/// One rule appended to a chain of the nat table: `-A <chain> <arguments...>`.
public struct NatRule: Hashable, Sendable, CustomStringConvertible {
    public let chain: String
    public let arguments: [String]

    public init(chain: String, _ arguments: [String]) {
        self.chain = chain
        self.arguments = arguments
    }

    /// The line as `iptables-restore` reads it.
    public var description: String { (["-A", chain] + arguments).joined(separator: " ") }
}

/// The nat-table rules that send a pod's TCP traffic through its sidecar, with the guide's chain
/// names:
/// - `PREROUTING → PROXY_INBOUND`: inbound TCP, minus reserved and excluded ports, goes to
///   `PROXY_IN_REDIRECT`, which redirects it to the inbound listener (15003).
/// - `OUTPUT → PROXY_OUTPUT`: outbound TCP from the application goes to `PROXY_REDIRECT`, which
///   redirects it to the outbound listener (15001). Skipped: the sidecar's own traffic (its uid),
///   loopback traffic of the application, 127.0.0.1, reserved ports, excluded ranges and ports, and
///   with an inclusion list everything outside it. The sidecar's own connections to the pod's own
///   address over loopback go to the inbound listener, so an application calling itself through its
///   service still passes its inbound policy.
/// Only TCP is captured; UDP and ICMP pass untouched, as the guide says.
public struct RedirectRules: Hashable, Sendable {
    public static let inboundChain = "PROXY_INBOUND"
    public static let inboundRedirectChain = "PROXY_IN_REDIRECT"
    public static let outboundChain = "PROXY_OUTPUT"
    public static let outboundRedirectChain = "PROXY_REDIRECT"
    /// The chains this package creates, in declaration order.
    public static let chains = [inboundChain, inboundRedirectChain, outboundChain, outboundRedirectChain]
    /// `iptables -m multiport` takes at most 15 ports per rule.
    static let multiportLimit = 15

    public let settings: RedirectSettings
    /// Every rule in the order it is appended.
    public let rules: [NatRule]

    public init(_ settings: RedirectSettings) {
        self.settings = settings
        self.rules = Self.inboundRules(settings) + Self.outboundRules(settings)
    }

    /// An `iptables-restore` input for the nat table. It declares (and so empties) the four
    /// chains and appends the jumps from PREROUTING and OUTPUT; apply it once per network
    /// namespace with `iptables-restore --noflush` (as an init container does), or without
    /// `--noflush` in a namespace whose nat table holds nothing else.
    public var restoreScript: String {
        var lines = ["# swift-mesh sidecar traffic capture", "*nat"]
        lines += Self.chains.map { ":\($0) - [0:0]" }
        lines += rules.map(\.description)
        lines.append("COMMIT")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The same rules as separate `iptables` invocations (argument vectors): the chains are
    /// created first, then every rule is appended in order.
    public var iptablesCommands: [[String]] {
        Self.chains.map { ["iptables", "-t", "nat", "-N", $0] }
            + rules.map { ["iptables", "-t", "nat", "-A", $0.chain] + $0.arguments }
    }

    /// `iptablesCommands` as shell lines (no argument needs quoting).
    public var iptablesCommandLines: [String] {
        iptablesCommands.map { $0.joined(separator: " ") }
    }

    // MARK: - Rule construction

    private static func inboundRules(_ settings: RedirectSettings) -> [NatRule] {
        var rules = [
            NatRule(chain: inboundRedirectChain, ["-p", "tcp", "-j", "REDIRECT", "--to-ports", String(settings.inboundListenerPort)]),
            NatRule(chain: "PREROUTING", ["-p", "tcp", "-j", inboundChain]),
        ]
        rules += portRules(chain: inboundChain, ports: settings.bypassPorts, target: "RETURN")
        rules += portRules(chain: inboundChain, ports: settings.inboundPortExclusions, target: "RETURN")
        rules.append(NatRule(chain: inboundChain, ["-p", "tcp", "-j", inboundRedirectChain]))
        return rules
    }

    private static func outboundRules(_ settings: RedirectSettings) -> [NatRule] {
        let uid = String(settings.proxyUID)
        var rules = [
            NatRule(chain: outboundRedirectChain, ["-p", "tcp", "-j", "REDIRECT", "--to-ports", String(settings.outboundListenerPort)]),
            NatRule(chain: "OUTPUT", ["-p", "tcp", "-j", outboundChain]),
            // Sidecar -> own pod address over loopback: the app called itself through its service.
            NatRule(chain: outboundChain, ["-o", "lo", "!", "-d", "127.0.0.1/32", "-m", "owner", "--uid-owner", uid, "-j", inboundRedirectChain]),
            // The application talking to itself over loopback stays local.
            NatRule(chain: outboundChain, ["-o", "lo", "-m", "owner", "!", "--uid-owner", uid, "-j", "RETURN"]),
            // The sidecar's own upstream connections must not loop back into it.
            NatRule(chain: outboundChain, ["-m", "owner", "--uid-owner", uid, "-j", "RETURN"]),
            NatRule(chain: outboundChain, ["-d", "127.0.0.1/32", "-j", "RETURN"]),
        ]
        rules += portRules(chain: outboundChain, ports: settings.bypassPorts, target: "RETURN")
        // Exclusions come before inclusions, so an excluded destination is never redirected.
        rules += settings.outboundIPRangeExclusions.map { NatRule(chain: outboundChain, ["-d", $0.description, "-j", "RETURN"]) }
        rules += portRules(chain: outboundChain, ports: settings.outboundPortExclusions, target: "RETURN")
        if settings.outboundIPRangeInclusions.isEmpty {
            rules.append(NatRule(chain: outboundChain, ["-j", outboundRedirectChain]))
        } else {
            rules += settings.outboundIPRangeInclusions.map { NatRule(chain: outboundChain, ["-d", $0.description, "-j", outboundRedirectChain]) }
            rules.append(NatRule(chain: outboundChain, ["-j", "RETURN"]))
        }
        return rules
    }

    /// `--dport N` for one port, `-m multiport --dports a,b,...` in groups of at most 15.
    private static func portRules(chain: String, ports: [Int], target: String) -> [NatRule] {
        if ports.count == 1 {
            return [NatRule(chain: chain, ["-p", "tcp", "--dport", String(ports[0]), "-j", target])]
        }
        return stride(from: 0, to: ports.count, by: multiportLimit).map { start in
            let group = ports[start..<min(start + multiportLimit, ports.count)]
            return NatRule(chain: chain, ["-p", "tcp", "-m", "multiport", "--dports", group.map(String.init).joined(separator: ","), "-j", target])
        }
    }
}

extension RedirectSettings {
    /// The nat-table rules for these settings.
    public var rules: RedirectRules { RedirectRules(self) }
}
