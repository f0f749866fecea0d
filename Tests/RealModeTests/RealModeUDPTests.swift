import MeshModel
import MeshRealMode
import SimCore
import Testing

/// `udp://` loads for real (DECISIONS 187): datagrams from a meshed client pass by both sidecars
/// to the udp-echo app's own port on 127.82.<subnet>.x, and come back; an app that does not echo
/// UDP (a curl pod behind the Service quiet) answers nothing. The simulator's column and the real one must agree.
@Suite(.timeLimit(.minutes(3)))
struct RealModeUDPTests {
    static let scenario = """
    name: udp-real
    mesh: { namespaces: [demo] }
    manifests: |
      apiVersion: v1
      kind: Service
      metadata: { name: udp-echo, namespace: demo }
      spec:
        selector: { app: udp-echo }
        ports: [{ name: udp, port: 5000 }]
      ---
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: udp-echo, namespace: demo }
      spec:
        selector: { matchLabels: { app: udp-echo } }
        template:
          metadata: { labels: { app: udp-echo } }
          spec:
            containers: [{ name: udp-echo, image: example/udp-echo, ports: [{ containerPort: 5000 }] }]
      ---
      apiVersion: v1
      kind: Service
      metadata: { name: quiet, namespace: demo }
      spec:
        selector: { app: client }
        ports: [{ name: udp, port: 6000 }]
      ---
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: client, namespace: demo }
      spec:
        selector: { matchLabels: { app: client } }
        template:
          metadata: { labels: { app: client } }
          spec:
            containers: [{ name: client, image: curlimages/curl }]
    apps:
      udp-echo: { model: udp-echo }
    steps:
      - at: 0s
        load: { name: echo, from: demo/client, url: "udp://udp-echo.demo:5000", requests: 5 }
      - at: 0s
        load: { name: silence, from: demo/client, url: "udp://quiet.demo:6000", requests: 2 }
    expect:
      - load: echo
        status: { 200: 5 }
      - load: echo
        backends: { udp-echo: 100% }
      - load: silence
        status: { 0: 2 }
      - app: udp-echo
        received: 5
    """

    @Test func datagramsEchoBothWays() async throws {
        let report = try await RealModeRunner.run(try ScenarioParser.parse(Self.scenario, file: "udp-real.yaml"))
        #expect(report.simulated.passed, "\(report.text())")
        #expect(report.real.passed, "\(report.text())")
        #expect(report.real.result.loads.first { $0.name == "echo" }?.count(status: 200) == 5)
    }
}
