import Foundation
import MeshModel
import SimCore
import Testing

/// The inbound border in the simulator (issue 13 item 1, demos.md 6.7): clients without a sidecar
/// reach a meshed pod only through an AccessControl, in permissive and SMI mode alike.
@Suite struct SimulationBorderTests {
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scenarios/access-control.yaml")

    /// The shipped demo with its steps replaced: `policy` applied at 1s, loads at 2s.
    static func scenario(permissive: Bool = true, flag: Bool = true, policy: String, loads: String, expect: String) throws -> Scenario {
        var text = try String(contentsOf: shipped, encoding: .utf8)
        text = String(text[..<text.range(of: "steps:\n")!.lowerBound])
        text = text.replacing("enablePermissiveTrafficPolicy: true", with: "enablePermissiveTrafficPolicy: \(permissive)")
            .replacing("enableAccessControlPolicy: true", with: "enableAccessControlPolicy: \(flag)")
        let indented = policy.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(separator: "\n")
        text += "steps:\n  - at: 1s\n    apply: |\n\(indented)\n\(loads)expect:\n\(expect)"
        return try ScenarioParser.parse(text, file: "border.yaml")
    }

    static func ipRangePolicy(_ range: String) -> String {
        """
        kind: AccessControl
        apiVersion: policy.flomesh.io/v1alpha1
        metadata: { name: httpbin, namespace: httpbin }
        spec:
          backends:
          - { name: httpbin, port: { number: 14001, protocol: http } }
          sources:
          - { kind: IPRange, name: \(range) }
          - { kind: AuthenticatedPrincipal, name: curl.curl.cluster.local }
        """
    }

    static let loads = """
      - at: 0s
        load: { name: before, from: curl/curl, url: "http://httpbin.httpbin:14001/get", requests: 2 }
      - at: 2s
        load: { name: after, from: curl/curl, url: "http://httpbin.httpbin:14001/get", requests: 4 }

    """

    static func outcomes(_ scenario: Scenario) -> [String: Bool] {
        Dictionary(uniqueKeysWithValues: ExpectationChecker.check(runScenario(scenario)).map { ($0.expectation.text, $0.passed) })
    }

    @Test func theShippedDemoPasses() throws {
        let scenario = try ScenarioParser.parse(try String(contentsOf: Self.shipped, encoding: .utf8), file: "access-control.yaml")
        for outcome in ExpectationChecker.check(runScenario(scenario)) {
            #expect(outcome.passed, "\(outcome.expectation.text): \(outcome.observed)")
        }
    }

    @Test func anIPRangeAdmitsTheCurlPodAndNoOtherAddress() throws {
        // curl-0 is the simulator's second pod: 10.244.0.11.
        let admitted = try Self.scenario(policy: Self.ipRangePolicy("10.244.0.11/32"), loads: Self.loads,
                                         expect: "  - load: before\n    status: { 0: 2 }\n  - load: after\n    status: { 200: 4 }\n")
        #expect(Self.outcomes(admitted).values.allSatisfy { $0 }, "\(Self.outcomes(admitted))")
        let elsewhere = try Self.scenario(policy: Self.ipRangePolicy("10.244.0.99/32"), loads: Self.loads,
                                          expect: "  - load: after\n    status: { 0: 4 }\n")
        #expect(Self.outcomes(elsewhere).values.allSatisfy { $0 })
    }

    @Test func smiModeWithoutATrafficTargetStillAdmitsTheAccessControlsSources() throws {
        let smi = try Self.scenario(permissive: false, policy: Self.ipRangePolicy("10.244.0.0/16"), loads: Self.loads,
                                    expect: "  - load: before\n    status: { 0: 2 }\n  - load: after\n    status: { 200: 4 }\n")
        #expect(Self.outcomes(smi).values.allSatisfy { $0 }, "\(Self.outcomes(smi))")
    }

    @Test func withoutTheFeatureFlagTheBorderStaysClosed() throws {
        let off = try Self.scenario(flag: false, policy: Self.ipRangePolicy("10.244.0.0/16"), loads: Self.loads,
                                    expect: "  - load: after\n    status: { 0: 4 }\n")
        #expect(Self.outcomes(off).values.allSatisfy { $0 })
    }

    @Test func theOutsideClientIsAdmittedByItsAddressOnly() throws {
        // From outside the cluster no name resolves: the client dials httpbin's cluster IP (the
        // simulator's first service address), which kube-proxy sends to the pod.
        let loads = """
          - at: 0s
            load: { name: before, from: external, url: "http://10.96.0.10:14001/get", requests: 2 }
          - at: 2s
            load: { name: after, from: external, url: "http://10.96.0.10:14001/get", requests: 3 }

        """
        let admitted = try Self.scenario(policy: Self.ipRangePolicy(LoadSpec.externalClientIP + "/32"), loads: loads,
                                         expect: "  - load: before\n    status: { 0: 2 }\n  - load: after\n    status: { 200: 3 }\n")
        #expect(Self.outcomes(admitted).values.allSatisfy { $0 }, "\(Self.outcomes(admitted))")
    }
}
