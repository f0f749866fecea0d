import Foundation
import MeshModel
import SimCore
import Testing

/// Every bound and bad input of a scenario with its exact one-line error, and the simulator's
/// work limit stopping a run.
@Suite struct ScenarioBoundsTests {
    /// A curl client and an echo server; `steps` and `extra` are appended; the first step is on line 30.
    static func scenario(steps: String, extra: String = "") -> String {
        """
        name: bounds
        manifests: |
          apiVersion: apps/v1
          kind: Deployment
          metadata: {name: curl, namespace: curl}
          spec:
            selector: {matchLabels: {app: curl}}
            template:
              metadata: {labels: {app: curl}}
              spec:
                containers: [{name: curl, image: curlimages/curl}]
          ---
          apiVersion: v1
          kind: Service
          metadata: {name: echo, namespace: echo}
          spec:
            selector: {app: echo}
            ports: [{name: http, port: 80}]
          ---
          apiVersion: apps/v1
          kind: Deployment
          metadata: {name: echo, namespace: echo}
          spec:
            selector: {matchLabels: {app: echo}}
            template:
              metadata: {labels: {app: echo}}
              spec:
                containers: [{name: echo, image: pipy-ok}]
        steps:
        \(steps)
        \(extra)
        """
    }

    /// One load step at 0s with these keys (on line 31).
    static func load(_ keys: String) -> String {
        "  - at: 0s\n    load: { name: l, from: curl/curl, \(keys) }"
    }

    func parseError(_ text: String) -> String? {
        guard let error = ScenarioParser.error(parsing: text, file: "s.yaml") else {
            Issue.record("expected an error")
            return nil
        }
        return error.description
    }

    @Test func theTemplateParses() throws {
        let scenario = try ScenarioParser.parse(Self.scenario(steps: Self.load("url: \"http://echo.echo/\", requests: 1")), file: "s.yaml")
        #expect(scenario.steps.count == 1)
    }

    // MARK: - Loads

    @Test func requestsPerLoad() {
        #expect(parseError(Self.scenario(steps: Self.load("url: \"http://echo.echo/\", requests: 1000000000")))
            == "s.yaml:31:75: steps[0].load.requests: must be between 1 and 1000000 (the limit of requests per load), found 1000000000")
    }

    @Test func concurrencyPerLoad() {
        #expect(parseError(Self.scenario(steps: Self.load("url: \"http://echo.echo/\", requests: 5, concurrency: 100000")))
            == "s.yaml:31:91: steps[0].load.concurrency: must be between 1 and 10000 (the limit of workers per load), found 100000")
    }

    @Test func qpsTimesDuration() {
        #expect(parseError(Self.scenario(steps: Self.load("url: \"http://echo.echo/\", qps: 1000, duration: 30m")))
            == "s.yaml:31:70: steps[0].load.qps: qps 1000 for 30m is 1800000 requests; at most 1000000 (the limit of requests per load)")
    }

    @Test func requestsAtQPSWithinTheHour() {
        #expect(parseError(Self.scenario(steps: Self.load("url: \"http://echo.echo/\", requests: 100000, qps: 10")))
            == "s.yaml:31:88: steps[0].load.qps: 100000 requests at qps 10 take 2.8h; the simulator stops at 1h of virtual time (raise qps or lower requests)")
    }

    @Test func closedLoopWorkerSeconds() {
        #expect(parseError(Self.scenario(steps: Self.load("url: \"http://echo.echo/\", duration: 10m, concurrency: 10")))
            == "s.yaml:31:93: steps[0].load.concurrency: a closed loop of 10 workers for 10m is 6000 worker-seconds; at most 600 (give requests or qps to send more)")
    }

    @Test func requestsPerScenario() {
        let steps = (0..<6).map { i in "  - at: 0s\n    load: { name: l\(i), from: curl/curl, url: \"http://echo.echo/\", requests: 1000000, qps: 1000 }" }
        #expect(parseError(Self.scenario(steps: steps.joined(separator: "\n")))
            == "s.yaml:41:11: steps[5].load: this load brings the scenario's requests to 6000000; at most 5000000 (the limit of requests per scenario)")
    }

    @Test func virtualTimeBounds() {
        #expect(parseError(Self.scenario(steps: Self.load("url: \"http://echo.echo/\", duration: 2h, qps: 1")))
            == "s.yaml:31:75: steps[0].load.duration: must be at most 1h (the simulator's limit of virtual time), found 2h")
        #expect(parseError(Self.scenario(steps: "  - at: 90m\n    load: { name: l, from: curl/curl, url: \"http://echo.echo/\", requests: 1 }"))
            == "s.yaml:30:9: steps[0].at: must be at most 1h (the simulator's limit of virtual time), found 90m")
        #expect(parseError("name: n\nduration: 3h\n") == "s.yaml:2:11: duration: must be at most 1h (the simulator's limit of virtual time), found 3h")
    }

    // MARK: - URLs and headers

    @Test func urlPortsAndSchemes() {
        #expect(parseError(Self.scenario(steps: Self.load("url: \"http://echo.echo:70000/\", requests: 1")))
            == "s.yaml:31:44: steps[0].load.url: port 70000 is out of range in \"http://echo.echo:70000/\"; expected 1-65535")
        #expect(parseError(Self.scenario(steps: Self.load("url: \"http://echo.echo:http/\", requests: 1")))
            == "s.yaml:31:44: steps[0].load.url: port \"http\" is not a number in \"http://echo.echo:http/\"; expected 1-65535")
        #expect(parseError(Self.scenario(steps: Self.load("url: \"ftp://echo.echo/\", requests: 1")))
            == "s.yaml:31:44: steps[0].load.url: unsupported scheme \"ftp\" in \"ftp://echo.echo/\"; expected http://, https://, tcp://, grpc:// or udp://")
        #expect(parseError(Self.scenario(steps: Self.load("url: \"tcp://echo.echo\", requests: 1")))
            == "s.yaml:31:44: steps[0].load.url: tcp:// needs a port (tcp://host:port), found \"tcp://echo.echo\"")
        #expect(parseError(Self.scenario(steps: Self.load("url: \"http://echo.echo/a b\", requests: 1")))
            == "s.yaml:31:44: steps[0].load.url: must not contain spaces or control characters (found U+0020) in \"http://echo.echo/a b\"")
    }

    @Test func headerNamesAndValuesWithoutCRLF() {
        #expect(parseError(Self.scenario(steps: Self.load("url: \"http://echo.echo/\", requests: 1, headers: { x-a: \"1\\r\\nx-b: 2\" }")))
            == "s.yaml:31:94: steps[0].load.headers.x-a: a header value must not contain CR, LF or other control characters, found \"1\\r\\nx-b: 2\"")
        #expect(parseError(Self.scenario(steps: Self.load("url: \"http://echo.echo/\", requests: 1, headers: { \"x\\na\": v }")))
            == "s.yaml:31:89: steps[0].load.headers[\"x\\na\"]: invalid header name \"x\\na\": expected a token of letters, digits and !#$%&'*+-.^_`|~")
    }

    // MARK: - Embedded manifests

    @Test func unknownFieldInEmbeddedManifestPointsIntoTheScenario() {
        let text = Self.scenario(steps: Self.load("url: \"http://echo.echo/\", requests: 1"))
            .replacingOccurrences(of: "    selector: {app: echo}", with: "    selector: {app: echo}\n    sessionAfinity: None")
        #expect(parseError(text) == "s.yaml:18:5: spec.sessionAfinity: unknown field \"sessionAfinity\"; did you mean \"sessionAffinity\"?")
    }

    @Test func duplicateResourceInManifests() {
        let text = Self.scenario(steps: Self.load("url: \"http://echo.echo/\", requests: 1"))
            .replacingOccurrences(of: "  ---\n  apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: echo, namespace: echo}",
                                  with: "  ---\n  apiVersion: v1\n  kind: Service\n  metadata: {name: echo, namespace: echo}\n  spec:\n    ports: [{port: 80}]\n  ---\n  apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: echo, namespace: echo}")
        #expect(parseError(text) == "s.yaml:20:3: Service echo/echo is already defined at s.yaml:13:3")
    }

    @Test func podsPerScenarioCountManifestsAndApplies() {
        let big = "  - at: 1s\n    apply: |\n      apiVersion: apps/v1\n      kind: Deployment\n      metadata: {name: REPLACE, namespace: echo}\n      spec:\n        replicas: 10000\n        selector: {matchLabels: {app: echo}}\n        template:\n          metadata: {labels: {app: echo}}\n          spec:\n            containers: [{name: echo, image: pipy-ok}]"
        let steps = [big.replacingOccurrences(of: "REPLACE", with: "a"), big.replacingOccurrences(of: "REPLACE", with: "b"),
                     big.replacingOccurrences(of: "REPLACE", with: "a")].joined(separator: "\n")
        // 2 pods in the manifests + 10,000 (a) + 10,000 (b) > 20,000; re-applying `a` would not have counted again.
        #expect(parseError(Self.scenario(steps: steps)) == "s.yaml:44:7: Deployment echo/b brings the scenario to 20002 pods; at most 20000 (the limit of pods per scenario)")
    }

    @Test func scenarioBytesThatAreNotUTF8() {
        let bytes = Array("name: caf".utf8) + [0xE9] + Array("\n".utf8)
        #expect(throws: ManifestError(file: "s.yaml", line: 1, column: 10, message: "the file is not UTF-8 text: byte 0xE9 is not valid UTF-8 (save the file as UTF-8)")) {
            try ScenarioParser.parse(bytes: bytes, file: "s.yaml")
        }
    }

    // MARK: - The work limit

    @Test func theEventLimitStopsTheRunAndSaysWhy() throws {
        let text = Self.scenario(steps: Self.load("url: \"http://echo.echo/\", requests: 1000, concurrency: 4"))
        let scenario = try ScenarioParser.parse(text, file: "s.yaml")
        var simulation = Simulation(scenario: scenario, eventLimit: 500)
        let result = simulation.run()
        #expect(result.eventsProcessed == 500)
        let stopped = try #require(result.stopped)
        #expect(stopped.hasPrefix("the run was stopped after 500 events (the simulator's limit of work per run) at virtual time "))
        #expect(stopped.hasSuffix("; lower the loads' requests, qps, concurrency or duration"))
        let report = Report(result: result)
        #expect(!report.passed)
        #expect(report.jsonText().contains("\"stopped\": \"the run was stopped after 500 events"))
        #expect(report.text().contains("result: STOPPED (the run was stopped after 500 events"))
        // The same scenario within the limit runs to its end.
        var full = Simulation(scenario: scenario)
        #expect(full.run().stopped == nil)
    }
}
