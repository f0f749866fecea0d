import MeshModel
import MeshRedirect
import Testing

@Suite struct RedirectRulesTests {
    static let defaultScript = """
        # swift-mesh sidecar traffic capture
        *nat
        :PROXY_INBOUND - [0:0]
        :PROXY_IN_REDIRECT - [0:0]
        :PROXY_OUTPUT - [0:0]
        :PROXY_REDIRECT - [0:0]
        -A PROXY_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15003
        -A PREROUTING -p tcp -j PROXY_INBOUND
        -A PROXY_INBOUND -p tcp -m multiport --dports 15000,15010,15901,15902,15903,15904 -j RETURN
        -A PROXY_INBOUND -p tcp -j PROXY_IN_REDIRECT
        -A PROXY_REDIRECT -p tcp -j REDIRECT --to-ports 15001
        -A OUTPUT -p tcp -j PROXY_OUTPUT
        -A PROXY_OUTPUT -o lo ! -d 127.0.0.1/32 -m owner --uid-owner 1500 -j PROXY_IN_REDIRECT
        -A PROXY_OUTPUT -o lo -m owner ! --uid-owner 1500 -j RETURN
        -A PROXY_OUTPUT -m owner --uid-owner 1500 -j RETURN
        -A PROXY_OUTPUT -d 127.0.0.1/32 -j RETURN
        -A PROXY_OUTPUT -p tcp -m multiport --dports 15000,15010,15901,15902,15903,15904 -j RETURN
        -A PROXY_OUTPUT -j PROXY_REDIRECT
        COMMIT

        """

    /// The static head of PROXY_OUTPUT that every configuration shares.
    static let outboundHead = [
        "-A PROXY_OUTPUT -o lo ! -d 127.0.0.1/32 -m owner --uid-owner 1500 -j PROXY_IN_REDIRECT",
        "-A PROXY_OUTPUT -o lo -m owner ! --uid-owner 1500 -j RETURN",
        "-A PROXY_OUTPUT -m owner --uid-owner 1500 -j RETURN",
        "-A PROXY_OUTPUT -d 127.0.0.1/32 -j RETURN",
        "-A PROXY_OUTPUT -p tcp -m multiport --dports 15000,15010,15901,15902,15903,15904 -j RETURN",
    ]

    static func chain(_ name: String, of settings: RedirectSettings) -> [String] {
        settings.rules.rules.filter { $0.chain == name }.map(\.description)
    }

    @Test func defaultScriptIsTheGolden() throws {
        let settings = try RedirectSettings()
        #expect(settings.rules.restoreScript == Self.defaultScript)
    }

    @Test func defaultsAreTheGuidesValues() throws {
        let settings = try RedirectSettings()
        #expect(settings.proxyUID == 1500)
        #expect(settings.outboundListenerPort == 15001)
        #expect(settings.inboundListenerPort == 15003)
        #expect(settings.bypassPorts == [15000, 15010, 15901, 15902, 15903, 15904])
        #expect(RedirectRules.chains == ["PROXY_INBOUND", "PROXY_IN_REDIRECT", "PROXY_OUTPUT", "PROXY_REDIRECT"])
    }

    @Test func commandsMatchTheRestoreScriptLineForLine() throws {
        let settings = try RedirectSettings(
            outboundIPRangeExclusions: [try #require(IPv4Range("10.96.0.0/12"))],
            outboundPortExclusions: [6379],
            inboundPortExclusions: [7070, 7071]
        )
        let rules = settings.rules
        let commands = rules.iptablesCommandLines
        #expect(Array(commands.prefix(4)) == [
            "iptables -t nat -N PROXY_INBOUND",
            "iptables -t nat -N PROXY_IN_REDIRECT",
            "iptables -t nat -N PROXY_OUTPUT",
            "iptables -t nat -N PROXY_REDIRECT",
        ])
        let scriptRules = rules.restoreScript.split(separator: "\n").filter { $0.hasPrefix("-A ") }
        #expect(commands.dropFirst(4).map { $0.replacingPrefix("iptables -t nat ") } == scriptRules.map(String.init))
        #expect(rules.iptablesCommands[5] == ["iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "-j", "PROXY_INBOUND"])
    }

    @Test func outboundIPRangeExclusionsReturnBeforeTheRedirect() throws {
        let settings = try RedirectSettings(outboundIPRangeExclusions: [
            try #require(IPv4Range("1.1.1.1/32")), try #require(IPv4Range("2.2.2.2/24")),
        ])
        #expect(Self.chain("PROXY_OUTPUT", of: settings) == Self.outboundHead + [
            "-A PROXY_OUTPUT -d 1.1.1.1/32 -j RETURN",
            "-A PROXY_OUTPUT -d 2.2.2.2/24 -j RETURN",
            "-A PROXY_OUTPUT -j PROXY_REDIRECT",
        ])
    }

    @Test func outboundIPRangeInclusionsRedirectOnlyThoseRanges() throws {
        let settings = try RedirectSettings(outboundIPRangeInclusions: [
            try #require(IPv4Range("10.244.0.0/16")), try #require(IPv4Range("10.96.0.0/16")),
        ])
        #expect(Self.chain("PROXY_OUTPUT", of: settings) == Self.outboundHead + [
            "-A PROXY_OUTPUT -d 10.244.0.0/16 -j PROXY_REDIRECT",
            "-A PROXY_OUTPUT -d 10.96.0.0/16 -j PROXY_REDIRECT",
            "-A PROXY_OUTPUT -j RETURN",
        ])
    }

    @Test func exclusionWinsOverInclusion() throws {
        let settings = try RedirectSettings(
            outboundIPRangeExclusions: [try #require(IPv4Range("10.244.1.0/24"))],
            outboundIPRangeInclusions: [try #require(IPv4Range("10.244.0.0/16"))],
            outboundPortExclusions: [6379]
        )
        #expect(Self.chain("PROXY_OUTPUT", of: settings) == Self.outboundHead + [
            "-A PROXY_OUTPUT -d 10.244.1.0/24 -j RETURN",
            "-A PROXY_OUTPUT -p tcp --dport 6379 -j RETURN",
            "-A PROXY_OUTPUT -d 10.244.0.0/16 -j PROXY_REDIRECT",
            "-A PROXY_OUTPUT -j RETURN",
        ])
    }

    @Test func outboundPortExclusions() throws {
        let settings = try RedirectSettings(outboundPortExclusions: [6379, 7070])
        #expect(Self.chain("PROXY_OUTPUT", of: settings) == Self.outboundHead + [
            "-A PROXY_OUTPUT -p tcp -m multiport --dports 6379,7070 -j RETURN",
            "-A PROXY_OUTPUT -j PROXY_REDIRECT",
        ])
        // Inbound is untouched by outbound knobs.
        #expect(Self.chain("PROXY_INBOUND", of: settings) == Self.chain("PROXY_INBOUND", of: try RedirectSettings()))
    }

    @Test func inboundPortExclusions() throws {
        let settings = try RedirectSettings(inboundPortExclusions: [6379, 7070])
        #expect(Self.chain("PROXY_INBOUND", of: settings) == [
            "-A PROXY_INBOUND -p tcp -m multiport --dports 15000,15010,15901,15902,15903,15904 -j RETURN",
            "-A PROXY_INBOUND -p tcp -m multiport --dports 6379,7070 -j RETURN",
            "-A PROXY_INBOUND -p tcp -j PROXY_IN_REDIRECT",
        ])
        #expect(Self.chain("PROXY_OUTPUT", of: settings) == Self.chain("PROXY_OUTPUT", of: try RedirectSettings()))
    }

    @Test func longPortListsAreSplitAtTheMultiportLimitOfFifteen() throws {
        let ports = Array(20001...20017)
        let settings = try RedirectSettings(inboundPortExclusions: ports)
        let rules = Self.chain("PROXY_INBOUND", of: settings)
        #expect(rules.count == 4)
        #expect(rules[1] == "-A PROXY_INBOUND -p tcp -m multiport --dports \(ports[0..<15].map(String.init).joined(separator: ",")) -j RETURN")
        #expect(rules[2] == "-A PROXY_INBOUND -p tcp -m multiport --dports 20016,20017 -j RETURN")
    }

    @Test func proxyUIDAndListenerPortsAreConfigurable() throws {
        let settings = try RedirectSettings(proxyUID: 2102, outboundListenerPort: 16001, inboundListenerPort: 16003)
        let script = settings.rules.restoreScript
        #expect(script.contains("-A PROXY_REDIRECT -p tcp -j REDIRECT --to-ports 16001\n"))
        #expect(script.contains("-A PROXY_IN_REDIRECT -p tcp -j REDIRECT --to-ports 16003\n"))
        #expect(script.contains("-A PROXY_OUTPUT -m owner --uid-owner 2102 -j RETURN\n"))
        #expect(script.contains("-A PROXY_OUTPUT -o lo -m owner ! --uid-owner 2102 -j RETURN\n"))
        #expect(!script.contains("--uid-owner 1500"))
        // Everything else is the default script with the three values substituted.
        let substituted = Self.defaultScript
            .replacing("--uid-owner 1500 ", with: "--uid-owner 2102 ").replacing("15001", with: "16001").replacing("15003", with: "16003")
        #expect(script == substituted)
    }

    @Test func duplicatesAreDroppedKeepingFirstPosition() throws {
        let a = try #require(IPv4Range("1.1.1.1/32"))
        let b = try #require(IPv4Range("2.2.2.0/24"))
        let settings = try RedirectSettings(outboundIPRangeExclusions: [a, b, a], outboundPortExclusions: [80, 80, 443])
        #expect(settings.outboundIPRangeExclusions == [a, b])
        #expect(settings.outboundPortExclusions == [80, 443])
    }

    @Test func onlyTCPIsCaptured() throws {
        let rules = try RedirectSettings(outboundPortExclusions: [53]).rules.rules
        // Every jump out of the built-in chains and every REDIRECT is limited to TCP.
        for rule in rules where rule.chain == "PREROUTING" || rule.chain == "OUTPUT" || rule.arguments.contains("REDIRECT") {
            #expect(Array(rule.arguments.prefix(2)) == ["-p", "tcp"], "\(rule)")
        }
        #expect(!rules.map(\.description).joined().contains("udp"))
    }
}

extension String {
    func replacingPrefix(_ prefix: String) -> String {
        hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
    }
}
