import MeshModel
import SimCore
import Testing

/// `fault: { kind: sidecar-crash }`: the sidecar dies, the app stays; the simulated kubelet probe
/// takes the pod out of the endpoints after `failureThreshold` failed probes and back after the
/// restart; without retries, clients fail only until the endpoint is gone.
@Suite struct SimulationSidecarCrashTests {
    /// curl → echo (two replicas, echo-0 and echo-1), both meshed, no retries; `steps` appended.
    static func scenario(probe: String = "{ period: 1s, failureThreshold: 2 }", steps: String) throws(ManifestError) -> Scenario {
        try ScenarioParser.parse("""
        name: sidecar-crash
        seed: 5
        mesh:
          namespaces: [demo, curl]
          sidecarReadinessProbe: \(probe)
        network: { latency: 250us }
        apps:
          echo: { model: echo, body: "hi", serviceTime: 1ms }
        manifests: |
          apiVersion: v1
          kind: Service
          metadata: { name: echo, namespace: demo }
          spec:
            ports: [{ port: 8080 }]
            selector: { app: echo }
          ---
          apiVersion: apps/v1
          kind: Deployment
          metadata: { name: echo, namespace: demo }
          spec:
            replicas: 2
            selector: { matchLabels: { app: echo } }
            template:
              metadata: { labels: { app: echo } }
              spec: { containers: [{ name: echo, image: flomesh/pipy-ok }] }
          ---
          apiVersion: apps/v1
          kind: Deployment
          metadata: { name: curl, namespace: curl }
          spec:
            selector: { matchLabels: { app: curl } }
            template:
              metadata: { labels: { app: curl } }
              spec: { containers: [{ name: curl, image: curlimages/curl }] }
        steps:
        \(steps)
        """, file: "crash.yaml")
    }

    static func event(_ result: SimulationResult, _ text: String) -> MeshDuration? {
        result.events.first { $0.text == text }?.at
    }

    @Test func withoutRetriesClientsFailOnlyUntilTheCrashedPodLeavesTheEndpoints() throws {
        let scenario = try Self.scenario(steps: """
          - { at: 0s, load: { name: before, from: curl/curl, url: "http://echo.demo:8080/", duration: 2s, qps: 20 } }
          - { at: 2s, fault: { kind: sidecar-crash, target: demo/echo-0, restartAfter: 5s } }
          - { at: 2s, load: { name: until-not-ready, from: curl/curl, url: "http://echo.demo:8080/", duration: 2200ms, qps: 20 } }
          - { at: 4500ms, load: { name: not-ready, from: curl/curl, url: "http://echo.demo:8080/", duration: 2500ms, qps: 20 } }
          - { at: 8s, load: { name: after, from: curl/curl, url: "http://echo.demo:8080/", duration: 2s, qps: 20 } }
        """)
        let result = runScenario(scenario)
        #expect(Self.event(result, "sidecar of demo/echo-0 crashed") == .seconds(2))
        // Probes at 3 s and 4 s fail: not ready at 4 s; the restart at 7 s passes the 7 s probe.
        #expect(Self.event(result, "pod demo/echo-0 not ready") == .seconds(4))
        #expect(Self.event(result, "sidecar of demo/echo-0 restarted") == .seconds(7))
        #expect(Self.event(result, "pod demo/echo-0 ready") == .seconds(7))
        #expect(try load(result, "before").count(status: 200) == 40)
        // Round robin sends every other request to the dead sidecar until the config without it lands.
        let window = try load(result, "until-not-ready")
        #expect(window.count(status: 200) > 0 && window.count(status: 200) < window.requests)
        let notReady = try load(result, "not-ready")
        #expect(notReady.requests == 50 && notReady.count(status: 200) == 50)
        #expect(try load(result, "after").count(status: 200) == 40)
    }

    @Test func aCrashedClientSidecarFailsItsAppsRequestsUntilItRestarts() throws {
        let scenario = try Self.scenario(steps: """
          - { at: 0s, load: { name: main, from: curl/curl, url: "http://echo.demo:8080/", duration: 6s, qps: 10 } }
          - { at: 2s, fault: { kind: sidecar-crash, target: curl/curl, restartAfter: 1s } }
        """)
        let main = try load(runScenario(scenario), "main")
        // The ten requests sent from 2 s to 2.9 s find no outbound listener; the restarted
        // sidecar serves from its cached config at once.
        #expect(main.requests == 60)
        #expect(main.count(status: 0) == 10)
        #expect(main.count(status: 200) == 50)
    }

    @Test func kubeletProbeDefaultsKeepAShortCrashInTheEndpoints() throws {
        let scenario = try Self.scenario(probe: "{}", steps: """
          - { at: 0s, load: { name: main, from: curl/curl, url: "http://echo.demo:8080/", duration: 6s, qps: 10 } }
          - { at: 2s, fault: { kind: sidecar-crash, target: demo/echo-0, restartAfter: 2s } }
        """)
        let result = runScenario(scenario)
        #expect(Self.event(result, "pod demo/echo-0 not ready") == nil)
        #expect(Self.event(result, "sidecar of demo/echo-0 restarted") == .seconds(4))
    }

    @Test func targetsWithoutARunningSidecarAreReported() throws {
        let scenario = try Self.scenario(steps: """
          - { at: 1s, fault: { kind: sidecar-crash, target: demo/ghost } }
          - { at: 1s, fault: { kind: sidecar-crash, target: demo/echo-1, restartAfter: 3s } }
          - { at: 2s, fault: { kind: sidecar-crash, target: demo/echo-1 } }
        """)
        let result = runScenario(scenario)
        #expect(result.events.contains { $0.text == "fault sidecar-crash: no pod matches demo/ghost" })
        #expect(result.events.contains { $0.text == "fault sidecar-crash: demo/echo-1 has no running sidecar" })
        #expect(Self.event(result, "sidecar of demo/echo-1 restarted") == .seconds(4))
    }

    @Test func badKeysAreErrorsWithPositions() throws {
        func failure(probe: String = "{}", _ steps: String = "  - { at: 1s, fault: { kind: sidecar-crash, target: demo/echo-0 } }") throws -> ManifestError {
            do {
                _ = try Self.scenario(probe: probe, steps: steps)
            } catch {
                return error
            }
            Issue.record("expected an error")
            throw CrashTestFailure()
        }
        let noTarget = try failure("  - { at: 1s, fault: { kind: sidecar-crash } }")
        #expect(noTarget.path == "steps[0].fault.target")
        #expect(noTarget.message.contains("missing required field \"target\""))
        let unknown = try failure("  - { at: 1s, fault: { kind: sidecar-crash, target: demo/echo, duration: 1s } }")
        #expect(unknown.path == "steps[0].fault.duration")
        let threshold = try failure(probe: "{ failureThreshold: 0 }")
        #expect(threshold.path == "mesh.sidecarReadinessProbe.failureThreshold")
        let period = try failure(probe: "{ period: 0s }")
        #expect(period.path == "mesh.sidecarReadinessProbe.period")
        #expect(period.message.contains("at least 1ms"))
    }
}

private struct CrashTestFailure: Error {}
