import MeshInject
import MeshRedirect
import Testing

@Suite struct InitArgumentsTests {
    @Test func listsRoundTripThroughTheCommandLine() throws {
        let parsed = try InitArguments(outboundIPRangeExclusionList: "10.244.0.0/16, 10.96.0.0/16", outboundIPRangeInclusionList: nil,
                                       outboundPortExclusionList: "6379,7070", inboundPortExclusionList: "9090")
        #expect(parsed.arguments == [
            "--outbound-ip-range-exclusion-list", "10.244.0.0/16,10.96.0.0/16",
            "--outbound-port-exclusion-list", "6379,7070",
            "--inbound-port-exclusion-list", "9090",
        ])
        let settings = try parsed.redirectSettings()
        #expect(InitArguments(settings) == parsed)
        #expect(InitArguments().arguments.isEmpty)
    }

    @Test func badItemsNameTheFlag() {
        #expect(throws: InitArgumentError(flag: "--outbound-port-exclusion-list", item: "65536", expected: "a port number between 1 and 65535")) {
            try InitArguments(outboundIPRangeExclusionList: nil, outboundIPRangeInclusionList: nil, outboundPortExclusionList: "80,65536", inboundPortExclusionList: nil)
        }
        #expect(throws: InitArgumentError(flag: "--outbound-ip-range-inclusion-list", item: "10.0.0.0/33", expected: "an IPv4 range in CIDR notation such as 10.244.0.0/16")) {
            try InitArguments(outboundIPRangeExclusionList: nil, outboundIPRangeInclusionList: "10.0.0.0/33", outboundPortExclusionList: nil, inboundPortExclusionList: nil)
        }
    }
}
