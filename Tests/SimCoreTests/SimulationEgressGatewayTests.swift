import Foundation
import MeshModel
import SimCore
import Testing

/// The egress gateway in the simulator (guides 3.8.2, S-15): the pods behind the Service an
/// EgressGateway names run the engine in its egress-gateway role, and meshed pods' egress goes
/// through them.
@Suite struct SimulationEgressGatewayTests {
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scenarios/egress-gateway.yaml")

    static let egressGateway = """
          kind: EgressGateway
          apiVersion: policy.flomesh.io/v1alpha1
          metadata: { name: global-egress-gateway, namespace: fsm }
          spec:
            global: [{ service: fsm-egress-gateway, namespace: fsm }]
    """

    /// The shipped demo's world (`replace` applied to it) with these steps and expectations.
    static func scenario(replacing replace: [(String, String)] = [], steps: String, expect: String) throws -> Scenario {
        var text = try String(contentsOf: shipped, encoding: .utf8)
        text = String(text[..<text.range(of: "steps:\n")!.lowerBound])
        for (old, new) in replace { text = text.replacing(old, with: new) }
        return try ScenarioParser.parse(text + "steps:\n" + steps + "expect:\n" + expect, file: "egress-gateway.yaml")
    }

    static func failures(_ scenario: Scenario) -> [String] {
        ExpectationChecker.check(runScenario(scenario)).filter { !$0.passed }.map { "\($0.expectation.text): \($0.observed)" }
    }

    @Test func theShippedDemoPasses() throws {
        let scenario = try ScenarioParser.parse(try String(contentsOf: Self.shipped, encoding: .utf8), file: "egress-gateway.yaml")
        #expect(Self.failures(scenario).isEmpty, "\(Self.failures(scenario))")
    }

    /// A gateway Service with no ready pod fails egress closed (no healthy upstream), rather than
    /// letting it leave directly (DECISIONS 194).
    @Test func aGatewayWithoutPodsFailsEgressClosed() throws {
        let scenario = try Self.scenario(replacing: [("metadata: { name: fsm-egress-gateway, namespace: fsm }\n  spec:\n    replicas: 1",
                                                      "metadata: { name: fsm-egress-gateway, namespace: fsm }\n  spec:\n    replicas: 0")], steps: """
              - at: 0s
                apply: |
            \(Self.egressGateway)
              - at: 1s
                load: { name: http, from: curl/curl, url: "http://httpbin.org/get", requests: 2 }
              - at: 1s
                load: { name: tcp, from: curl/curl, url: "tcp://httpbin.org:443", requests: 2, concurrency: 1 }

            """, expect: """
              - load: http
                status: { 503: 2 }
              - load: http
                responseFlags: { UH: 2 }
              - load: tcp
                status: { 0: 2 }
              - app: httpbin-org
                received: 0

            """)
        #expect(Self.failures(scenario).isEmpty, "\(Self.failures(scenario))")
    }

    /// HTTPS egress through the gateway: the sidecar relays the TLS unread (SNI read for the
    /// rules), the gateway tunnels it, and httpbin.org's own certificate is what curl verifies.
    @Test func httpsGoesThroughTheGatewayUnread() throws {
        let scenario = try Self.scenario(replacing: [("ports: [80, 443], model: echo", "ports: [443], model: tls-echo")], steps: """
              - at: 0s
                apply: |
            \(Self.egressGateway)
              - at: 1s
                load: { name: https, from: curl/curl, url: "https://httpbin.org:443/get", requests: 3 }
              - at: 1s
                load: { name: wrong-name, from: curl/curl, url: "https://httpbin.org:443/get", requests: 2, tls: { sni: example.com } }

            """, expect: """
              - load: https
                status: { 200: 3 }
              - load: wrong-name
                status: { 0: 2 }
              - app: httpbin-org
                received: 3
              - proxy: curl/curl
                counter: outbound.egress_gateway
                value: 5
              - proxy: fsm/fsm-egress-gateway
                counter: outbound.egress_passthrough
                value: 5

            """)
        #expect(Self.failures(scenario).isEmpty, "\(Self.failures(scenario))")
    }

    /// HTTPS by SNI without a gateway (egress-https-sni.yaml): a ClientHello the sidecar read and
    /// then refused is a TLS failure of the client's (curl's 35), a connection refused before any
    /// ClientHello was read is not (DECISIONS 231), as `sim --real` measures both.
    @Test func anHTTPSRefusalIsATLSFailureOnlyAfterTheClientHelloWasRead() throws {
        let url = Self.shipped.deletingLastPathComponent().appendingPathComponent("egress-https-sni.yaml")
        let result = runScenario(try ScenarioParser.parse(try String(contentsOf: url, encoding: .utf8), file: "egress-https-sni.yaml"))
        let failures = Dictionary(uniqueKeysWithValues: result.loads.map { ($0.name, $0.tlsFailures ?? -1) })
        #expect(failures == ["no-policy": 0, "httpbin-443": 0, "other-host": 3])
    }

    /// The gateway's counters are reported as a proxy's, under its pod.
    @Test func theGatewayPodIsListedAmongTheProxies() throws {
        let result = runScenario(try ScenarioParser.parse(try String(contentsOf: Self.shipped, encoding: .utf8), file: "egress-gateway.yaml"))
        #expect(result.proxies.map(\.pod) == ["curl/curl-0", "fsm/fsm-egress-gateway-0"])
    }

    /// The egress policy demo's 403 for a path no HTTPRouteGroup match allows is FSM's own answer,
    /// `Access denied` with `content-length: 13` (demos.md 6.3), stated in the engine's head.
    @Test func anUnmatchedEgressPathGetsFSMsForbiddenAnswer() throws {
        let url = Self.shipped.deletingLastPathComponent().appendingPathComponent("egress-policy.yaml")
        let text = try String(contentsOf: url, encoding: .utf8).replacing("""
              - load: status-denied
                status: { 403: 3 }
            """, with: """
              - load: status-denied
                status: { 403: 3 }
              - load: status-denied
                headers: { content-length: "13" }
            """)
        let scenario = try ScenarioParser.parse(text, file: "egress-policy.yaml")
        #expect(scenario.expectations.count == 10)
        #expect(Self.failures(scenario).isEmpty, "\(Self.failures(scenario))")
    }
}
