import MeshModel
import MeshRedirect
import Testing

@Suite struct RedirectSettingsTests {
    static func meshConfig(
        ipExclusions: [String] = [], ipInclusions: [String] = [], outboundPorts: [Int] = [], inboundPorts: [Int] = []
    ) -> MeshConfig {
        var config = MeshConfig()
        config.traffic.outboundIPRangeExclusionList = ipExclusions
        config.traffic.outboundIPRangeInclusionList = ipInclusions
        config.traffic.outboundPortExclusionList = outboundPorts
        config.traffic.inboundPortExclusionList = inboundPorts
        return config
    }

    @Test func noListsAnywhereGiveTheDefaults() throws {
        let settings = try RedirectSettings(meshConfig: MeshConfig(), podAnnotations: [:])
        #expect(settings == (try RedirectSettings()))
    }

    @Test func globalAndPodListsAreUnitedGlobalFirst() throws {
        let config = Self.meshConfig(ipExclusions: ["1.1.1.1/32", "2.2.2.2/24"], ipInclusions: ["10.0.0.0/8"], outboundPorts: [6379, 7070], inboundPorts: [9000])
        let annotations = [
            "flomesh.io/outbound-ip-range-exclusion-list": "10.244.0.0/16, 1.1.1.1/32,10.96.0.0/16",
            "flomesh.io/outbound-ip-range-inclusion-list": "172.16.0.0/12",
            "flomesh.io/outbound-port-exclusion-list": "7070,8081",
            "flomesh.io/inbound-port-exclusion-list": " 9001 ",
            "unrelated/annotation": "x",
        ]
        let settings = try RedirectSettings(meshConfig: config, podAnnotations: annotations)
        #expect(settings.outboundIPRangeExclusions.map(\.description) == ["1.1.1.1/32", "2.2.2.2/24", "10.244.0.0/16", "10.96.0.0/16"])
        #expect(settings.outboundIPRangeInclusions.map(\.description) == ["10.0.0.0/8", "172.16.0.0/12"])
        #expect(settings.outboundPortExclusions == [6379, 7070, 8081])
        #expect(settings.inboundPortExclusions == [9000, 9001])
        // And the merged lists are what the rules carry.
        let output = settings.rules.rules.filter { $0.chain == "PROXY_OUTPUT" }.map(\.description).suffix(8)
        #expect(Array(output) == [
            "-A PROXY_OUTPUT -d 1.1.1.1/32 -j RETURN",
            "-A PROXY_OUTPUT -d 2.2.2.2/24 -j RETURN",
            "-A PROXY_OUTPUT -d 10.244.0.0/16 -j RETURN",
            "-A PROXY_OUTPUT -d 10.96.0.0/16 -j RETURN",
            "-A PROXY_OUTPUT -p tcp -m multiport --dports 6379,7070,8081 -j RETURN",
            "-A PROXY_OUTPUT -d 10.0.0.0/8 -j PROXY_REDIRECT",
            "-A PROXY_OUTPUT -d 172.16.0.0/12 -j PROXY_REDIRECT",
            "-A PROXY_OUTPUT -j RETURN",
        ])
        #expect(settings.rules.restoreScript.contains("-A PROXY_INBOUND -p tcp -m multiport --dports 9000,9001 -j RETURN\n"))
    }

    @Test func podAnnotationsAloneApply() throws {
        let settings = try RedirectSettings(meshConfig: MeshConfig(), podAnnotations: [
            "flomesh.io/outbound-ip-range-inclusion-list": "198.18.0.0/15",
            "flomesh.io/outbound-port-exclusion-list": "6379",
        ])
        #expect(settings.outboundIPRangeInclusions == [try #require(IPv4Range("198.18.0.0/15"))])
        #expect(settings.outboundPortExclusions == [6379])
        #expect(settings.outboundIPRangeExclusions.isEmpty && settings.inboundPortExclusions.isEmpty)
    }

    @Test func blankAnnotationMeansNoList() throws {
        let settings = try RedirectSettings(meshConfig: Self.meshConfig(outboundPorts: [6379]), podAnnotations: [
            "flomesh.io/outbound-port-exclusion-list": "  ",
        ])
        #expect(settings.outboundPortExclusions == [6379])
    }

    @Test func proxyUIDIsPassedThrough() throws {
        let settings = try RedirectSettings(meshConfig: MeshConfig(), podAnnotations: [:], proxyUID: 1337)
        #expect(settings.proxyUID == 1337)
        #expect(settings.rules.restoreScript.contains("--uid-owner 1337"))
    }

    // MARK: - Validation

    @Test(arguments: [
        ("10.0.0/8", "not an IPv4 range"),
        ("10.0.0.0", "not an IPv4 range"),
        ("10.0.0.256/8", "not an IPv4 range"),
        ("10.0.0.0/33", "not an IPv4 range"),
        ("10.0.0.0/-1", "not an IPv4 range"),
        ("+1.0.0.0/8", "not an IPv4 range"),
        ("cluster.local/16", "not an IPv4 range"),
    ])
    func badAnnotationRangeIsRejected(value: String, phrase: String) {
        let key = "flomesh.io/outbound-ip-range-exclusion-list"
        #expect(throws: RedirectSettingsError.invalidIPRange(value, source: .podAnnotation(key))) {
            try RedirectSettings(meshConfig: MeshConfig(), podAnnotations: [key: "1.1.1.1/32,\(value)"])
        }
        do {
            _ = try RedirectSettings(meshConfig: MeshConfig(), podAnnotations: [key: value])
            Issue.record("accepted \(value)")
        } catch {
            #expect(error.description.contains(phrase))
            #expect(error.description.contains("pod annotation \(key)"))
            #expect(error.description.contains("\"\(value)\""))
        }
    }

    @Test func badInclusionRangeNamesTheInclusionAnnotation() {
        let key = "flomesh.io/outbound-ip-range-inclusion-list"
        #expect(throws: RedirectSettingsError.invalidIPRange("10.1.2.3", source: .podAnnotation(key))) {
            try RedirectSettings(meshConfig: MeshConfig(), podAnnotations: [key: "10.1.2.3"])
        }
    }

    @Test func meshConfigRangeErrorsNameTheField() {
        #expect(throws: RedirectSettingsError.invalidIPRange("300.0.0.0/8", source: .meshConfig("outboundIPRangeInclusionList"))) {
            try RedirectSettings(meshConfig: Self.meshConfig(ipInclusions: ["300.0.0.0/8"]), podAnnotations: [:])
        }
        let error = RedirectSettingsError.invalidIPRange("300.0.0.0/8", source: .meshConfig("outboundIPRangeInclusionList"))
        #expect(error.description == "MeshConfig spec.traffic.outboundIPRangeInclusionList: \"300.0.0.0/8\" is not an IPv4 range in CIDR notation such as 10.244.0.0/16")
    }

    @Test func ipv6RangesAreRejectedWithTheReason() {
        #expect(throws: RedirectSettingsError.ipv6RangeNotSupported("fd00::/8", source: .meshConfig("outboundIPRangeExclusionList"))) {
            try RedirectSettings(meshConfig: Self.meshConfig(ipExclusions: ["fd00::/8"]), podAnnotations: [:])
        }
        #expect(RedirectSettingsError.ipv6RangeNotSupported("fd00::/8", source: .meshConfig("x")).description.contains("IPv4 nat table only"))
    }

    @Test(arguments: ["0", "65536", "-1", "http", "80a", "1e3", "123456"])
    func badAnnotationPortIsRejected(value: String) {
        let key = "flomesh.io/inbound-port-exclusion-list"
        #expect(throws: RedirectSettingsError.invalidPort(value, source: .podAnnotation(key))) {
            try RedirectSettings(meshConfig: MeshConfig(), podAnnotations: [key: "6379,\(value)"])
        }
    }

    @Test func emptyItemInAnnotationIsRejected() {
        let key = "flomesh.io/outbound-port-exclusion-list"
        #expect(throws: RedirectSettingsError.emptyListItem("6379,,7070", source: .podAnnotation(key))) {
            try RedirectSettings(meshConfig: MeshConfig(), podAnnotations: [key: "6379,,7070"])
        }
    }

    @Test func badPortsInMeshConfigAndCodeAreRejected() {
        #expect(throws: RedirectSettingsError.invalidPort("0", source: .meshConfig("outboundPortExclusionList"))) {
            try RedirectSettings(meshConfig: Self.meshConfig(outboundPorts: [0]), podAnnotations: [:])
        }
        #expect(throws: RedirectSettingsError.invalidPort("70000", source: .setting("inboundPortExclusions"))) {
            try RedirectSettings(inboundPortExclusions: [70000])
        }
        #expect(throws: RedirectSettingsError.invalidPort("0", source: .setting("outboundListenerPort"))) {
            try RedirectSettings(outboundListenerPort: 0)
        }
        #expect(throws: RedirectSettingsError.listenerPortsClash(15001)) {
            try RedirectSettings(inboundListenerPort: 15001)
        }
        #expect(throws: RedirectSettingsError.invalidProxyUID(-1)) {
            try RedirectSettings(proxyUID: -1)
        }
        #expect(throws: RedirectSettingsError.invalidProxyUID(4_294_967_295)) {
            try RedirectSettings(proxyUID: 4_294_967_295)
        }
    }

    @Test func ipv4RangeParsing() throws {
        let range = try #require(IPv4Range(" 198.18.0.10/15 "))
        #expect(range.description == "198.18.0.10/15")
        #expect(range.networkAddress == 0xC612_0000)
        #expect(range.contains(0xC613_FFFF) && !range.contains(0xC614_0000))
        #expect(IPv4Range("0.0.0.0/0")?.contains(0xFFFF_FFFF) == true)
        #expect(IPv4Range("1.2.3.4/32")?.contains(0x0102_0305) == false)
        #expect(IPv4Range("1.2.3.4/ 32") == nil)
        #expect(IPv4Range("1.2.3.4/032") == nil)
        #expect(IPv4Range("") == nil)
        #expect(IPv4Range(address: 0x0A00_0000, prefixLength: 8)?.description == "10.0.0.0/8")
        #expect(IPv4Range(address: 0, prefixLength: 33) == nil)
        #expect(IPv4Range(address: 0, prefixLength: -1) == nil)
    }
}
