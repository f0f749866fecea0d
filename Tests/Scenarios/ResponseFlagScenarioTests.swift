import Foundation
import MeshModel
import SimCore
import Testing

/// The shipped demos' reports say why requests failed, with Envoy's response flags per load (the
/// JSON report's `loads.<name>.responseFlags`), and a scenario can expect them.
@Suite struct ResponseFlagScenarioTests {
    static let scenarios = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scenarios")

    /// `loads.<load>.responseFlags` of the scenario's JSON report.
    static func flags(_ file: String, load: String) throws -> JSONValue? {
        let text = try String(contentsOf: scenarios.appendingPathComponent(file), encoding: .utf8)
        var simulation = Simulation(scenario: try ScenarioParser.parse(text, file: "scenarios/\(file)"))
        let json = try JSONValue(parsing: Report(result: simulation.run()).jsonText())
        return json["loads"]?[load]?["responseFlags"]
    }

    @Test func theDemosReportsSayWhy() throws {
        // Circuit breaking: the pending queue overflows.
        #expect(try Self.flags("circuit-breaking.yaml", load: "limited") == .object([("UO", .int(17))]))
        #expect(try Self.flags("circuit-breaking.yaml", load: "baseline") == .object([]))
        // Local rate limits: HTTP (429) and TCP (the connection closed).
        #expect(try Self.flags("ratelimit-http.yaml", load: "service-limit") == .object([("RL", .int(7))]))
        #expect(try Self.flags("ratelimit-http.yaml", load: "route-limit") == .object([("RL", .int(7))]))
        #expect(try Self.flags("ratelimit-tcp.yaml", load: "limited") == .object([("RL", .int(7))]))
        // SMI without a TrafficTarget. With egress on (the demos' mesh), bookthief's request passes
        // through to bookstore's pod, whose inbound border closes the plaintext connection (UC);
        // the TCP demo's connection passes through the same way (DECISIONS 172) and is closed at
        // fortio's border after it opened: a relay that opened and closed carries no flag, as
        // Envoy's TCP proxy logs it.
        #expect(try Self.flags("bookstore-smi.yaml", load: "bookthief-denied") == .object([("UC", .int(10))]))
        #expect(try Self.flags("smi-tcp.yaml", load: "denied") == .object([]))
        // Retries used up on a 503 the upstream sent.
        #expect(try Self.flags("retry.yaml", load: "status-503") == .object([("URX", .int(1))]))
        // A sidecar dying with requests inside: the upstream connection ends under them.
        #expect(try Self.flags("fault-sidecar-crash-single.yaml", load: "across-the-crash") == .object([("UC", .int(2))]))
    }

    /// The only bookstore's sidecar dies and stays down: requests on pooled connections are reset
    /// (`UC`), new connections are refused (`UF`), and once the kubelet's probe took the pod out of
    /// the endpoints there is nowhere to go (`UH`).
    static let crash = """
    name: flags
    mesh:
      enablePermissiveTrafficPolicy: true
      namespaces: [demo]
      sidecarReadinessProbe: { period: 1s, failureThreshold: 2 }
    apps:
      client: { model: none }
      server: { model: echo, serviceTime: 50ms }
    manifests: |
      apiVersion: v1
      kind: Service
      metadata: { name: server, namespace: demo }
      spec:
        ports: [{ port: 8080, name: http }]
        selector: { app: server }
      ---
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: server, namespace: demo }
      spec:
        selector: { matchLabels: { app: server } }
        template:
          metadata: { labels: { app: server } }
          spec:
            containers: [{ name: server, image: echo, ports: [{ containerPort: 8080 }] }]
      ---
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: client, namespace: demo }
      spec:
        selector: { matchLabels: { app: client } }
        template:
          metadata: { labels: { app: client } }
          spec:
            containers: [{ name: client, image: client }]
    steps:
      - at: 1s
        load: { name: calls, from: demo/client, url: "http://server.demo:8080/", qps: 20, concurrency: 2, duration: 8s }
      - at: 3s
        fault: { kind: sidecar-crash, target: demo/server, restartAfter: 60s }
    expect:
      - load: calls
        responseFlags: { UF: "> 0", UH: "> 0", UO: 0 }
    """

    @Test func aDeadSidecarIsAConnectFailureThenNoHealthyUpstream() throws {
        var simulation = Simulation(scenario: try ScenarioParser.parse(Self.crash, file: "flags.yaml"))
        let report = Report(result: simulation.run())
        #expect(report.passed, "\(report.text())")
        let load = try #require(report.result.loads.first)
        #expect(load.count(status: 503) > 0)
        #expect(report.text().contains("flags:"))
        let html = report.html()
        #expect(html.contains("response flags <b>") && html.contains("<b>UF</b>"))
        // A wrong expectation fails and says what the run showed.
        let wrong = try ScenarioParser.parse(Self.crash.replacingOccurrences(of: #"UO: 0"#, with: #"UO: "> 0""#), file: "flags.yaml")
        var again = Simulation(scenario: wrong)
        let failed = Report(result: again.run())
        #expect(!failed.passed)
        #expect(failed.outcomes.first?.observed.contains("UF") == true)
    }

    @Test func anUnknownFlagIsAnErrorAtItsLine() {
        let bad = Self.crash.replacingOccurrences(of: #"UO: 0"#, with: #"XY: 0"#)
        #expect {
            _ = try ScenarioParser.parse(bad, file: "flags.yaml")
        } throws: { error in
            "\(error)".contains("flags.yaml:") && "\(error)".contains("unknown response flag \"XY\"")
        }
    }
}
