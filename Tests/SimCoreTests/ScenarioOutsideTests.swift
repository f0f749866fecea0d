import Foundation
import MeshModel
import SimCore
import Testing

/// The scenario keys for traffic from and to outside the cluster (SCENARIOS.md, "Traffic from
/// outside, to outside"): `external:` hosts, `from: external`, and the `headers:` and
/// `bodyContains:` expectations, through the parser and the simulator.
@Suite struct ScenarioOutsideTests {
    static let world = """
    name: outside
    mesh:
      namespaces: [curl]
    manifests: |
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: curl, namespace: curl }
      spec:
        replicas: 1
        selector: { matchLabels: { app: curl } }
        template:
          metadata: { labels: { app: curl } }
          spec:
            containers: [{ name: curl, image: curlimages/curl }]
      ---
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: plain, namespace: plain }
      spec:
        replicas: 1
        selector: { matchLabels: { app: plain } }
        template:
          metadata: { labels: { app: plain } }
          spec:
            containers: [{ name: curl, image: curlimages/curl }]
    external:
      httpbin-org: { host: httpbin.org, ip: 203.0.113.10, ports: [80, 443], model: pipy-ok }
      echo-net: { host: echo.example.net, ip: 203.0.113.20, ports: [7], model: tcp-echo, body: "echo here" }

    """

    static func parse(_ rest: String) throws -> Scenario {
        try ScenarioParser.parse(world + rest, file: "outside.yaml")
    }

    static func parseError(_ text: String) -> ManifestError? {
        ScenarioParser.error(parsing: text, file: "outside.yaml")
    }

    /// An EgressGateway naming a Service the scenario does not declare is an error at its line (the
    /// simulator runs the pods behind the Service as the gateway; a typo would fail every egress).
    @Test func anEgressGatewayNamingAnUndeclaredServiceIsAnErrorAtItsLine() throws {
        let text = Self.world.replacingOccurrences(of: "external:\n", with: """
              ---
              kind: EgressGateway
              apiVersion: policy.flomesh.io/v1alpha1
              metadata: { name: global-egress-gateway, namespace: fsm }
              spec:
                global: [{ service: fsm-egress-gateway, namespace: fsm }]
            external:

            """)
        let error = try #require(Self.parseError(text))
        #expect(error.description.hasPrefix("outside.yaml:27:3: spec.global[0].service:"), "\(error.description)")
        #expect(error.message.contains("names Service fsm/fsm-egress-gateway, which the scenario does not declare (none are declared)"), "\(error.message)")
        // Declared before it, in the same manifests: accepted.
        let declared = text.replacingOccurrences(of: "  ---\n  kind: EgressGateway", with: """
              ---
              apiVersion: v1
              kind: Service
              metadata: { name: fsm-egress-gateway, namespace: fsm }
              spec: { selector: { app: fsm-egress-gateway }, ports: [{ port: 1080 }] }
              ---
              kind: EgressGateway
            """)
        #expect(Self.parseError(declared) == nil)
    }

    @Test func externalHostsParse() throws {
        let scenario = try Self.parse("")
        #expect(scenario.externalHosts == [
            ExternalHost(name: "httpbin-org", host: "httpbin.org", ip: "203.0.113.10", ports: [80, 443], app: AppSpec(model: .pipyOk)),
            ExternalHost(name: "echo-net", host: "echo.example.net", ip: "203.0.113.20", ports: [7], app: AppSpec(model: .tcpEcho, body: "echo here")),
        ])
    }

    @Test func badExternalHostsNameTheirLine() throws {
        let cases: [(entry: String, path: String, message: String)] = [
            ("a: { host: a.org, ip: 10.244.0.9, ports: [80], model: echo }", "external.a.ip", "inside the cluster's pod range"),
            ("a: { host: a.org, ip: 10.96.0.1, ports: [80], model: echo }", "external.a.ip", "service range"),
            ("a: { host: a.org, ip: 300.1.1.1, ports: [80], model: echo }", "external.a.ip", "expected an IPv4 address"),
            ("a: { host: \"a b\", ip: 203.0.113.1, ports: [80], model: echo }", "external.a.host", "expected a DNS name"),
            ("a: { host: a.org, ip: 203.0.113.1, ports: [], model: echo }", "external.a.ports", "at least one port"),
            ("a: { host: a.org, ip: 203.0.113.1, ports: [70000], model: echo }", "external.a.ports[0]", "65535"),
            ("a: { host: a.org, ip: 203.0.113.1, ports: [80], model: nginx }", "external.a.model", "pipy-ok"),
            ("a: { host: a.org, ip: 203.0.113.1, port: [80], model: echo }", "external.a.port", "unknown field"),
            ("a: { host: a.org, ip: 203.0.113.1, ports: [80], model: echo }\n  b: { host: a.org, ip: 203.0.113.2, ports: [80], model: echo }", "external.b", "already external host \"a\""),
            ("external: { host: a.org, ip: 203.0.113.1, ports: [80], model: echo }", "external.external", "outside client"),
        ]
        for item in cases {
            let text = "name: x\nexternal:\n  \(item.entry)\n"
            let error = try #require(Self.parseError(text), "\(item.entry)")
            #expect(error.path == item.path, "\(item.entry)")
            #expect(error.message.contains(item.message), "\(error.message)")
            #expect(error.line >= 3)
        }
    }

    @Test func loadsFromExternalAndExpectationsOnOutside() throws {
        let scenario = try Self.parse("""
        steps:
          - at: 0s
            load: { name: out, from: external, url: "http://httpbin.org/get", headers: { host: foo.example.com }, requests: 3 }
        expect:
          - load: out
            headers: { Identity: httpbin-org, location: null }
          - load: out
            bodyContains: "I am pipy"
          - app: httpbin-org
            received: 3

        """)
        guard case .load(let load) = scenario.steps[0].action else { throw ExpectedLoad() }
        #expect(load.isExternal)
        #expect(load.headers == [HTTPHeaderField(name: "host", value: "foo.example.com")])
        #expect(scenario.expectations.map(\.check) == [
            .headers(load: "out", values: [HeaderExpectation(name: "identity", value: "httpbin-org"), HeaderExpectation(name: "location", value: nil)]),
            .bodyContains(load: "out", text: "I am pipy"),
            .received(app: "httpbin-org", count: 3),
        ])
        #expect(scenario.expectations[0].text == #"out headers {identity: "httpbin-org", location: null}"#)
    }

    @Test func badOutsideExpectations() throws {
        let oneLoad = Self.world + """
        steps:
          - at: 0s
            load: { name: out, from: external, url: "http://httpbin.org/get", requests: 3 }
        expect:

        """
        let cases: [(entry: String, path: String, message: String)] = [
            ("  - load: out\n    headers: {}\n", "expect[0].headers", "at least one header"),
            ("  - load: out\n    headers: [a]\n", "expect[0].headers", "mapping"),
            ("  - load: out\n    headers: { \"a b\": x }\n", "expect[0].headers[\"a b\"]", "invalid header name"),
            ("  - load: out\n    headers: { A: x, a: y }\n", "expect[0].headers.a", "listed twice"),
            ("  - load: nope\n    headers: { a: x }\n", "expect[0].load", "no load named \"nope\""),
            ("  - load: out\n    bodyContains: \"\"\n", "expect[0].bodyContains", "non-empty"),
            ("  - app: nothing\n    received: 1\n", "expect[0].app", "no Deployment or external host"),
            ("  - load: out\n    bodyContains: x\n    tolerance: 5%\n", "expect[0].tolerance", "unknown field"),
        ]
        for item in cases {
            let error = try #require(Self.parseError(oneLoad + item.entry), "\(item.entry)")
            #expect(error.path == item.path, "\(item.entry)")
            #expect(error.message.contains(item.message), "\(error.message)")
        }
        let badFrom = try #require(Self.parseError(Self.world + "steps:\n  - at: 0s\n    load: { name: a, from: outside, url: \"http://a/\", requests: 1 }\n"))
        #expect(badFrom.path == "steps[0].load.from")
        #expect(badFrom.message.contains("namespace/deployment or external"))
    }

    @Test func outsideTrafficInTheSimulator() throws {
        let scenario = try Self.parse("""
        steps:
          - at: 0s
            load: { name: outside, from: external, url: "http://httpbin.org/get", requests: 5 }
          - at: 1s
            load: { name: plain, from: plain/plain, url: "http://httpbin.org/get", requests: 4 }
          - at: 2s
            load: { name: closed-port, from: external, url: "http://httpbin.org:8080/get", requests: 2 }
          - at: 3s
            load: { name: unknown-name, from: external, url: "http://nowhere.example/", requests: 2 }
          - at: 4s
            load: { name: tcp, from: external, url: "tcp://echo.example.net:7", requests: 3 }
          - at: 5s
            load: { name: cluster-name, from: external, url: "http://curl.curl:80/", requests: 1 }
        expect:
          - load: outside
            status: { 200: 5 }
          - load: outside
            bodyContains: "Hi, I am pipy!"
          - load: outside
            headers: { identity: httpbin-org, location: null }
          - load: plain
            status: { 200: 4 }
          - load: closed-port
            status: { 0: 2 }
          - load: unknown-name
            status: { 0: 2 }
          - load: tcp
            status: { 200: 3 }
          - load: cluster-name
            status: { 0: 1 }
          - app: httpbin-org
            received: 9
          - app: echo-net
            received: 3

        """)
        let result = runScenario(scenario)
        for outcome in ExpectationChecker.check(result) {
            #expect(outcome.passed, "\(outcome.expectation.text): \(outcome.observed)")
        }
        // The outside client is no app of the report.
        #expect(!result.apps.contains { $0.deployment == "external" })
    }

    /// demos.md 6.3: with `enableEgress` a meshed pod reaches a host outside the cluster through its
    /// sidecar (passthrough to the original destination); after `enableEgress: false` it cannot
    /// (curl: "Failed to connect", exit 7). A pod without a sidecar reaches it either way.
    @Test func egressPassthroughFollowsTheMeshConfig() throws {
        let scenario = try Self.parse("""
        steps:
          - at: 0s
            load: { name: egress-on, from: curl/curl, url: "http://httpbin.org/get", requests: 5 }
          - at: 1s
            apply: |
              apiVersion: config.flomesh.io/v1alpha3
              kind: MeshConfig
              metadata: { name: fsm-mesh-config, namespace: fsm-system }
              spec:
                traffic: { enableEgress: false, enablePermissiveTrafficPolicyMode: true }
          - at: 2s
            load: { name: egress-off, from: curl/curl, url: "http://httpbin.org/get", requests: 3 }
          - at: 3s
            load: { name: plain, from: plain/plain, url: "http://httpbin.org/get", requests: 2 }
        expect:
          - load: egress-on
            status: { 200: 5 }
          - load: egress-on
            bodyContains: "Hi, I am pipy!"
          - load: egress-off
            status: { 0: 3 }
          - load: plain
            status: { 200: 2 }
          - app: httpbin-org
            received: 7
          - proxy: curl/curl
            counter: outbound.egress_passthrough
            value: 5
          - proxy: curl/curl
            counter: outbound.no_route
            value: 3

        """)
        for outcome in ExpectationChecker.check(runScenario(scenario)) {
            #expect(outcome.passed, "\(outcome.expectation.text): \(outcome.observed)")
        }
    }

    @Test func headerAndBodyChecksFailWhenOneResponseDiffers() throws {
        let scenario = try Self.parse("""
        steps:
          - at: 0s
            load: { name: out, from: external, url: "http://httpbin.org/get", requests: 2 }
          - at: 1s
            load: { name: none, from: external, url: "http://httpbin.org:9/", requests: 2 }
        expect:
          - load: out
            headers: { identity: someone-else }
          - load: out
            bodyContains: "not in the body"
          - load: none
            headers: { identity: null }
          - load: none
            bodyContains: "Hi"

        """)
        let outcomes = ExpectationChecker.check(runScenario(scenario))
        #expect(outcomes.map(\.passed) == [false, false, false, false])
        #expect(outcomes[0].observed == #"{identity: "httpbin-org" ×2}"#)
        #expect(outcomes[1].observed == "0 of 2 responses")
        // A load whose every connection failed has no response to judge.
        #expect(outcomes[2].observed == "{identity: no responses}")
    }
}

private struct ExpectedLoad: Error {}
