import Foundation
import MeshRealMode
import MeshRuntime
import MeshShell
import NIOCore
import NIOPosix
import SimCore
import Testing

/// The FSM Gateway pods of a real run (`RealGateways`) beyond the shipped demos, which
/// `RealModeTests` runs both ways: what a run does when a gateway cannot serve.
@Suite(.timeLimit(.minutes(2)))
struct RealGatewayTests {
    static func scenario(port: Int) -> String {
        """
        name: gateway-port-held
        manifests: |
          apiVersion: gateway.networking.k8s.io/v1
          kind: Gateway
          metadata: { name: edge, namespace: demo }
          spec:
            gatewayClassName: fsm-gateway-cls
            listeners:
            - { protocol: HTTP, port: \(port), name: http, allowedRoutes: { namespaces: { from: Same } } }
        steps:
          - at: 0s
            load: { name: in, from: external, url: "http://fsm-gateway-demo.demo:\(port)/", requests: 2 }
        expect:
          - load: in
            status: { 404: 2 }
        """
    }

    /// Another process listens on every address at the Gateway's port: the run stops before any
    /// load with one line naming the scenario, the Gateway and the address and port (exit 2), and
    /// leaves nothing behind (its subnet is free again at once).
    @Test func aGatewayThatCannotBindItsPortStopsTheRunNamingIt() async throws {
        let holder = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "0.0.0.0", port: 0).get()
        let port = try #require(holder.localAddress?.port)
        defer { holder.close(promise: nil) }
        let scenario = try ScenarioParser.parse(Self.scenario(port: port), file: "gateway-port-held.yaml")
        do {
            _ = try await RealModeRunner.run(scenario)
            Issue.record("ran with the Gateway's port held by another process")
        } catch let error as RealModeError {
            let text = "\(error)"
            #expect(text.contains("scenario gateway-port-held: the Gateway demo/edge cannot listen on 127.82."), "\(text)")
            #expect(text.contains(":\(port) (http): the port is held by another process"), "\(text)")
            #expect(!text.contains("\n"))
            // The run's subnet (127.82.<n>.x) was released as it stopped.
            let subnet = try #require(text.split(separator: "127.82.").dropFirst().first?.split(separator: ".").first.flatMap { Int($0) })
            let lease = try LoopbackBlockLease.tryAcquire("127.82.\(subnet)")
            #expect(lease != nil)
            lease?.release()
        }
    }

    /// The same when a step creates the Gateway: the run stops at that step, before the load
    /// after it (which the held port would take), with the same line.
    @Test func aGatewayPortHeldWhenAStepCreatesTheGatewayStopsTheRun() async throws {
        let holder = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "0.0.0.0", port: 0).get()
        let port = try #require(holder.localAddress?.port)
        defer { holder.close(promise: nil) }
        var text = Self.scenario(port: port)
        let gateway = try #require(text.range(of: "  apiVersion: gateway.networking.k8s.io/v1")?.lowerBound)
        let steps = try #require(text.range(of: "steps:\n")?.lowerBound)
        let manifest = text[gateway..<steps].split(separator: "\n").map { "      " + $0 }.joined(separator: "\n")
        text = String(text[..<gateway]).replacing("manifests: |\n", with: "") + "steps:\n  - at: 1s\n    apply: |\n" + manifest + "\n" + text[text.index(steps, offsetBy: 7)...].replacing("at: 0s", with: "at: 2s")
        let scenario = try ScenarioParser.parse(text, file: "gateway-port-held-later.yaml")
        do {
            _ = try await RealModeRunner.run(scenario)
            Issue.record("ran with the Gateway's port held by another process")
        } catch let error as RealModeError {
            #expect("\(error)".contains("scenario gateway-port-held: the Gateway demo/edge cannot listen on 127.82."), "\(error)")
            #expect("\(error)".contains(":\(port) (http)"), "\(error)")
        }
    }

    /// The same scenario with the port free: the gateway pod serves it (404 with no route) and the
    /// report lists the pod as the simulator does, an app that received nothing.
    @Test func aGatewayPodServesTheOutsideClientAndIsListedAsAnApp() async throws {
        let holder = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(holder.localAddress?.port)
        // A free port for the gateway (on its own address it would be free anyway).
        try await holder.close()
        let scenario = try ScenarioParser.parse(Self.scenario(port: port), file: "gateway-port-free.yaml")
        let report = try await RealModeRunner.run(scenario)
        #expect(report.real.passed, "\(report.text())")
        #expect(report.real.result.apps.map(\.deployment) == ["fsm-gateway-demo"])
        #expect(report.simulated.result.apps.map(\.deployment) == ["fsm-gateway-demo"])
        #expect(report.real.result.apps.first?.received == 0)
        #expect(report.text().contains("FSM Gateway pods (fsm-gateway-demo; the outside client at 198.51.100.1)"), "\(report.text())")
    }

    static let meshedBackend = """
    name: gateway-meshed-backend
    mesh:
      namespaces: [server]
      enablePermissiveTrafficPolicy: true
      featureFlags: { enableAccessControlPolicy: true }
    apps:
      pipy: { model: echo, body: "Hi, I am pipy!" }
    manifests: |
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: pipy, namespace: server }
      spec:
        selector: { matchLabels: { app: pipy } }
        template:
          metadata: { labels: { app: pipy } }
          spec:
            containers: [{ name: pipy, image: flomesh/pipy, ports: [{ containerPort: 8080 }] }]
      ---
      apiVersion: v1
      kind: Service
      metadata: { name: pipy, namespace: server }
      spec:
        selector: { app: pipy }
        ports: [{ name: http, port: 8080, targetPort: 8080 }]
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: Gateway
      metadata: { name: edge, namespace: server }
      spec:
        gatewayClassName: fsm-gateway-cls
        listeners:
        - { protocol: HTTP, port: 8000, name: http, allowedRoutes: { namespaces: { from: Same } } }
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: { name: pipy, namespace: server }
      spec:
        parentRefs: [{ name: edge, port: 8000 }]
        rules:
        - backendRefs: [{ name: pipy, port: 8080 }]
    steps:
      - at: 0s
        load: { name: refused, from: external, url: "http://fsm-gateway-server.server:8000/", requests: 3 }
      - at: 1s
        apply: |
          kind: AccessControl
          apiVersion: policy.flomesh.io/v1alpha1
          metadata: { name: pipy, namespace: server }
          spec:
            backends:
            - name: pipy
              port: { number: 8080, protocol: http }
            sources:
            - kind: IPRange
              name: 0.0.0.0/0
      - at: 2s
        load: { name: admitted, from: external, url: "http://fsm-gateway-server.server:8000/", requests: 3 }
    expect:
      - load: refused
        status: { 503: 3 }
      - load: refused
        responseFlags: { UC: 3 }
      - load: admitted
        status: { 200: 3 }
      - load: admitted
        bodies: { "Hi, I am pipy!": 100% }
      - app: pipy
        received: 3
      - proxy: server/pipy-0
        counter: inbound.cx_no_identity
        value: "> 0"
    """

    /// The gateway speaks plain HTTP to its backends; a meshed backend's border closes the
    /// gateway's connection (503 UC at the client) until an AccessControl admits it, for real
    /// (the gateway dials the pod's inbound listener, local mode's capture) as in the simulator.
    @Test func aMeshedBackendsBorderRefusesTheGatewayUntilAnAccessControlAdmitsIt() async throws {
        let scenario = try ScenarioParser.parse(Self.meshedBackend, file: "gateway-meshed-backend.yaml")
        let report = try await RealModeRunner.run(scenario)
        for outcome in report.real.outcomes where !outcome.passed {
            if case .latency = outcome.expectation.check { continue }
            Issue.record("real: \(outcome.expectation.text) observed \(outcome.observed)")
        }
        #expect(report.simulated.passed, "\(report.text())")
    }

    /// `tcp://` loads from outside through a Gateway's TCP listener (the shipped TCP routing demo,
    /// its backend an echo on a `tcp` port): the client connects straight to the gateway pod, the
    /// gateway relays the bytes to the endpoint its engine picks, and the echo comes back, for real
    /// and in the simulator.
    @Test func rawTCPFromOutsideCrossesATCPListener() async throws {
        var text = try String(contentsOf: RealModeTests.scenarios.appendingPathComponent("gateway-tcp-routing.yaml"), encoding: .utf8)
        text = text.replacing("port: 8080, targetPort: 80 }", with: "port: 8080, targetPort: 80, appProtocol: tcp }")
        let steps = try #require(text.range(of: "\nsteps:")?.lowerBound)
        text = String(text[..<steps]) + """

        apps:
          httpbin: { model: echo }
        steps:
          - at: 0s
            load: { name: echo, from: external, url: "tcp://fsm-gateway-httpbin.httpbin:8000", requests: 5 }
        expect:
          - load: echo
            status: { 200: 5 }
          - load: echo
            backends: { httpbin: 100% }
          - app: httpbin
            received: 5
        """
        let scenario = try ScenarioParser.parse(text, file: "gateway-tcp-echo.yaml")
        let report = try await RealModeRunner.run(scenario)
        #expect(report.real.passed, "\(report.text())")
        #expect(report.simulated.passed, "\(report.text())")
    }
}
