@testable import MeshRuntime
import Testing

/// The admission state machine and the limits derived from a descriptor limit, alone.
struct ConnectionAdmissionTests {
    let limits = ConnectionLimits(outbound: 3, inbound: 2, admin: 1, prometheus: 1)

    @Test func admitsUpToTheLimitThenRefuses() {
        var admission = ConnectionAdmission(limits: limits)
        #expect(admission.opened(.inbound) == .admit)
        #expect(admission.opened(.inbound) == .admit)
        #expect(admission.opened(.inbound) == .refuse)
        #expect(admission.active(.inbound) == 2)
        admission.closed(.inbound)
        #expect(admission.active(.inbound) == 1)
        #expect(admission.opened(.inbound) == .admit)
        #expect(admission.opened(.inbound) == .refuse)
    }

    @Test func aFullListenerLeavesTheOthersTheirRoom() {
        var admission = ConnectionAdmission(limits: limits)
        #expect(admission.opened(.admin) == .admit)
        for _ in 0..<100 { #expect(admission.opened(.admin) == .refuse) }
        #expect(admission.opened(.outbound) == .admit)
        #expect(admission.opened(.prometheus) == .admit)
        #expect(admission.active(.admin) == 1)
        #expect(admission.active(.outbound) == 1)
    }

    @Test func closingMoreThanWasOpenedStaysAtZero() {
        var admission = ConnectionAdmission(limits: limits)
        admission.closed(.outbound)
        #expect(admission.active(.outbound) == 0)
        #expect(admission.opened(.outbound) == .admit)
    }

    @Test func limitsDerivedFromTheDescriptorLimitLeaveAReserve() {
        #expect(ConnectionLimits.derived(descriptorLimit: 1024) == ConnectionLimits(outbound: 208, inbound: 208, admin: 32, prometheus: 32))
        #expect(ConnectionLimits.derived(descriptorLimit: 128) == ConnectionLimits(outbound: 22, inbound: 22, admin: 4, prometheus: 4))
        #expect(ConnectionLimits.derived(descriptorLimit: 20_000) == ConnectionLimits(outbound: 4343, inbound: 4343, admin: 64, prometheus: 64))
        for descriptors in [16, 64, 128, 256, 1024, 4096, 20_000, 65_536, 1_048_576] {
            let limits = ConnectionLimits.derived(descriptorLimit: descriptors)
            // Every listener full, each data-path connection with its upstream: still a reserve.
            let used = 2 * (limits.outbound + limits.inbound) + limits.admin + limits.prometheus
            #expect(limits.outbound >= 1 && limits.admin >= 2 && limits.admin <= 64)
            #expect(descriptors < 64 || descriptors - used >= max(32, descriptors / 8), "\(descriptors): \(limits)")
        }
    }

    @Test func thisProcessHasADescriptorLimit() {
        #expect(ConnectionLimits.descriptorLimitOfThisProcess() > 0)
    }
}
