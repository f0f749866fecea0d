import SimCore
import Testing

/// `outboundIPRangeExclusionList`'s ranges, as the simulator and real mode read them.
@Suite struct OutboundExclusionTests {
    @Test func anAddressIsExcludedByItsRangeOnly() {
        let ranges = ["54.91.118.50/32", "10.1.0.0/16"]
        #expect(OutboundExclusion.contains(ranges, address: "54.91.118.50"))
        #expect(!OutboundExclusion.contains(ranges, address: "54.91.118.51"))
        #expect(OutboundExclusion.contains(ranges, address: "10.1.255.3"))
        #expect(!OutboundExclusion.contains(ranges, address: "10.2.0.1"))
        #expect(OutboundExclusion.contains(["0.0.0.0/0"], address: "203.0.113.9"))
        // Not an address (a name real mode could not resolve): never excluded.
        #expect(!OutboundExclusion.contains(ranges, address: "httpbin.org"))
        #expect(!OutboundExclusion.contains([], address: "54.91.118.50"))
    }
}
