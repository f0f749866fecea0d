import MeshInstall
import MeshModel
import Testing

/// `fsm install --set`: the guides' keys, their types, and one-line errors naming the key.
@Suite struct InstallValuesTests {
    @Test func defaultsAreTheGuidesMeshConfigDefaults() {
        let values = InstallValues()
        #expect(values.bool("fsm.enablePermissiveTrafficPolicy") == false)
        #expect(values.bool("fsm.enableEgress") == false)
        #expect(values.string("fsm.sidecarLogLevel") == "error")
        #expect(values.string("fsm.certificateProvider.serviceCertValidityDuration") == "24h")
        #expect(values.string("fsm.trafficInterceptionMode") == "iptables")
    }

    @Test func setTakesCommaSeparatedPairsAndBothListSyntaxes() throws {
        var values = InstallValues()
        try values.set("fsm.enablePermissiveTrafficPolicy=true,fsm.outboundIPRangeExclusionList={1.1.1.1/32,2.2.2.2/24}")
        try values.set("fsm.outboundPortExclusionList=[6379,7070]")
        try values.set("fsm.sidecarLogLevel=info")
        #expect(values.bool("fsm.enablePermissiveTrafficPolicy"))
        #expect(values["fsm.outboundIPRangeExclusionList"] == .array([.string("1.1.1.1/32"), .string("2.2.2.2/24")]))
        #expect(values["fsm.outboundPortExclusionList"] == .array([.int(6379), .int(7070)]))
        #expect(values.string("fsm.sidecarLogLevel") == "info")
    }

    @Test func unknownKeyNamesTheNearestOne() {
        var values = InstallValues()
        #expect(throws: InstallError("--set fsm.enablePermisiveTrafficPolicy=true: unknown key \"fsm.enablePermisiveTrafficPolicy\"; did you mean \"fsm.enablePermissiveTrafficPolicy\"?")) {
            try values.set("fsm.enablePermisiveTrafficPolicy=true")
        }
    }

    @Test(arguments: [
        ("fsm.enableEgress=maybe", "--set fsm.enableEgress=maybe: fsm.enableEgress must be true or false, found \"maybe\""),
        ("fsm.enableEgress", "--set fsm.enableEgress: expected key=value"),
        ("fsm.outboundPortExclusionList={6379,99999}", "--set fsm.outboundPortExclusionList={6379,99999}: fsm.outboundPortExclusionList must list port numbers between 1 and 65535, found \"99999\""),
        ("fsm.outboundIPRangeExclusionList={10.0.0.1}", "--set fsm.outboundIPRangeExclusionList={10.0.0.1}: fsm.outboundIPRangeExclusionList must list IP ranges in CIDR notation such as 10.0.0.1/32, found \"10.0.0.1\""),
        ("fsm.sidecarLogLevel=loud", "--set fsm.sidecarLogLevel=loud: fsm.sidecarLogLevel must be one of trace, debug, info, warn, error, fatal, panic, disabled, found \"loud\""),
        ("fsm.deployGrafana=true", "--set fsm.deployGrafana=true: no Grafana is deployed by fsm install"),
        ("fsm.fsmGateway.enabled=yes", "--set fsm.fsmGateway.enabled=yes: fsm.fsmGateway.enabled must be true or false, found \"yes\""),
        ("fsm.trafficInterceptionMode=nftables", "--set fsm.trafficInterceptionMode=nftables: fsm.trafficInterceptionMode must be one of iptables, ebpf, found \"nftables\""),
        ("fsm.fsmController.resource.limits.memory=lots", "--set fsm.fsmController.resource.limits.memory=lots: fsm.fsmController.resource.limits.memory must be a Kubernetes quantity such as 100m, 1, 128Mi or 1Gi, found \"lots\""),
    ])
    func badValuesAreOneLine(argument: String, message: String) {
        var values = InstallValues()
        #expect(throws: InstallError(message)) { try values.set(argument) }
    }

    @Test func aNotBuiltKeyAcceptsItsDefault() throws {
        var values = InstallValues()
        try values.set("fsm.deployGrafana=false")
        #expect(values.bool("fsm.deployGrafana") == false)
    }

    @Test func meshNamesFollowRFC1123Labels() {
        #expect(MeshName.problem(with: "fsm") == nil)
        #expect(MeshName.problem(with: "mesh-2") == nil)
        #expect(MeshName.problem(with: String(repeating: "a", count: 64)) != nil)
        #expect(MeshName.problem(with: "Bad_Mesh") == "invalid mesh name \"Bad_Mesh\": the mesh-name must follow RFC 1123 DNS label constraints: contain at most 63 characters, contain only lowercase alphanumeric characters or '-', start with an alphanumeric character, and end with an alphanumeric character")
        #expect(MeshName.problem(with: "-mesh") != nil)
        #expect(MeshName.problem(with: "") != nil)
    }
}
