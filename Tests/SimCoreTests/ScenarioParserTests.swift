import MeshModel
import SimCore
import Testing

/// Manifests shared by the tests: a bookstore with two versions and a curl client.
private let manifestsBlock = """
manifests: |
  apiVersion: v1
  kind: Service
  metadata:
    name: bookstore
    namespace: bookstore
  spec:
    selector:
      app: bookstore
    ports:
    - port: 14001
      name: bookstore-port
  ---
  apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: bookstore-v1
    namespace: bookstore
  spec:
    replicas: 1
    selector:
      matchLabels:
        app: bookstore
        version: v1
    template:
      metadata:
        labels:
          app: bookstore
          version: v1
      spec:
        containers:
        - name: bookstore
          image: flomesh/bookstore:latest
          ports:
          - containerPort: 14001
  ---
  apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: bookstore-v2
    namespace: bookstore
  spec:
    replicas: 1
    selector:
      matchLabels:
        app: bookstore
        version: v2
    template:
      metadata:
        labels:
          app: bookstore
          version: v2
      spec:
        containers:
        - name: bookstore
          image: flomesh/bookstore:latest
          ports:
          - containerPort: 14001
  ---
  apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: httpbin
    namespace: httpbin
  spec:
    selector:
      matchLabels:
        app: httpbin
    template:
      metadata:
        labels:
          app: httpbin
      spec:
        containers:
        - name: httpbin
          image: kennethreitz/httpbin
  ---
  apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: curl
    namespace: curl
  spec:
    selector:
      matchLabels:
        app: curl
    template:
      metadata:
        labels:
          app: curl
      spec:
        containers:
        - name: curl
          image: curlimages/curl
"""

/// The example of SCENARIOS.md, with real manifests in place of its `...`.
private let fullExample = """
name: canary                       # required
description: Shift traffic from v1 to v2 with a TrafficSplit.
seed: 42                           # default 1
duration: 30s
mesh:
  enablePermissiveTrafficPolicy: true
  featureFlags: { enableRetryPolicy: true }
  namespaces: [bookstore, bookbuyer]
network:
  latency: 250us
  loss: 0
\(manifestsBlock)
apps:
  bookstore-v1: { model: echo, body: "Hi, I am v1!", serviceTime: 1ms }
  httpbin:      { model: httpbin }
steps:
  - at: 10s
    apply: |
      apiVersion: split.smi-spec.io/v1alpha4
      kind: TrafficSplit
      metadata:
        name: bookstore-split
        namespace: bookstore
      spec:
        service: bookstore.bookstore
        backends:
        - service: bookstore-v1
          weight: 50
        - service: bookstore-v2
          weight: 50
  - at: 20s
    delete: { kind: TrafficSplit, namespace: bookstore, name: bookstore-split }
  - at: 0s
    load:
      name: phase1
      from: curl/curl
      url: http://bookstore.bookstore:14001/books-bought
      method: GET
      headers: { user-agent: test }
      requests: 10
      duration: 10s
      qps: 100
      concurrency: 4
  - at: 5s
    fault: { kind: kill-pod, target: bookstore/bookstore-v1, restartAfter: 2s }
  - at: 5s
    fault: { kind: partition, between: [curl/curl, bookstore/bookstore-v2] }
  - at: 6s
    fault: { kind: latency, target: bookstore/bookstore-v2, add: 5ms }
  - at: 7s
    fault: { kind: error, target: httpbin/httpbin, status: 503, rate: 20% }
expect:
  - load: phase1
    status: { 200: 3, 429: 7 }
  - load: phase1
    backends: { bookstore-v1: 50%, bookstore-v2: 0.5 }
    tolerance: 5%
  - app: httpbin
    received: 60
  - load: phase1
    latency: { p99: "< 5ms" }
  - proxy: bookstore/bookstore-v1
    counter: http_requests_total
    value: "> 3"
"""

/// Parses `text`, requiring it to fail, and returns the error.
private func parseError(_ text: String, file: String = "bad.yaml") throws -> ManifestError {
    try #require(ScenarioParser.error(parsing: text, file: file), "expected an error")
}

/// 1-based (line, column) of the first occurrence of `needle` in `text`.
private func position(of needle: String, in text: String, occurrence: Int = 1) -> (line: Int, column: Int) {
    var seen = 0
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        if let range = line.firstRange(of: needle) {
            seen += 1
            if seen == occurrence { return (index + 1, line.distance(from: line.startIndex, to: range.lowerBound) + 1) }
        }
    }
    return (0, 0)
}

@Suite struct ScenarioParserTests {
    @Test func parsesTheFullExample() throws {
        let scenario = try ScenarioParser.parse(fullExample, file: "canary.yaml")
        #expect(scenario.name == "canary")
        #expect(scenario.file == "canary.yaml")
        #expect(scenario.description == "Shift traffic from v1 to v2 with a TrafficSplit.")
        #expect(scenario.seed == 42)
        #expect(scenario.duration == .seconds(30))
        #expect(scenario.mesh.meshConfig.traffic.enablePermissiveTrafficPolicyMode)
        #expect(scenario.mesh.meshConfig.featureFlags.enableRetryPolicy)
        #expect(scenario.mesh.namespaces == ["bookstore", "bookbuyer"])
        #expect(scenario.network.latency == .fixed(.microseconds(250)))
        #expect(scenario.network.loss == 0)
        #expect(scenario.manifests.map(\.key) == [
            ResourceKey(kind: .service, namespace: "bookstore", name: "bookstore"),
            ResourceKey(kind: .deployment, namespace: "bookstore", name: "bookstore-v1"),
            ResourceKey(kind: .deployment, namespace: "bookstore", name: "bookstore-v2"),
            ResourceKey(kind: .deployment, namespace: "httpbin", name: "httpbin"),
            ResourceKey(kind: .deployment, namespace: "curl", name: "curl"),
        ])
        #expect(scenario.apps["bookstore-v1"] == AppSpec(model: .echo, body: "Hi, I am v1!", serviceTime: .milliseconds(1)))
        #expect(scenario.apps["httpbin"] == AppSpec(model: .httpbin))

        // Sorted by time, stable: the two 5s faults keep their file order.
        #expect(scenario.steps.map(\.at) == [.zero, .seconds(5), .seconds(5), .seconds(6), .seconds(7), .seconds(10), .seconds(20)])
        guard case .load(let load) = scenario.steps[0].action else { Issue.record("step 0 is not the load"); return }
        #expect(load == LoadSpec(name: "phase1", from: "curl/curl", url: "http://bookstore.bookstore:14001/books-bought", method: "GET",
                                 headers: [HTTPHeaderField(name: "user-agent", value: "test")], requests: 10, duration: .seconds(10), qps: 100, concurrency: 4))
        #expect(scenario.steps[1].action == .fault(.killPod(target: "bookstore/bookstore-v1", restartAfter: .seconds(2))))
        #expect(scenario.steps[2].action == .fault(.partition(between: ["curl/curl", "bookstore/bookstore-v2"], duration: nil)))
        #expect(scenario.steps[3].action == .fault(.latency(target: "bookstore/bookstore-v2", add: .milliseconds(5), duration: nil)))
        #expect(scenario.steps[4].action == .fault(.error(target: "httpbin/httpbin", status: 503, rate: 0.2, duration: nil)))
        guard case .apply(let applied) = scenario.steps[5].action else { Issue.record("step 5 is not the apply"); return }
        #expect(applied.map(\.key) == [ResourceKey(kind: .trafficSplit, namespace: "bookstore", name: "bookstore-split")])
        #expect(scenario.steps[6].action == .delete(ResourceKey(kind: .trafficSplit, namespace: "bookstore", name: "bookstore-split")))
        let loadLine = position(of: "- at: 0s", in: fullExample)
        #expect(scenario.steps[0].location == SourceLocation(file: "canary.yaml", line: loadLine.line, column: loadLine.column + 2))

        #expect(scenario.expectations.map(\.check) == [
            .status(load: "phase1", counts: [200: 3, 429: 7]),
            .backends(load: "phase1", shares: ["bookstore-v1": 0.5, "bookstore-v2": 0.5], tolerance: 0.05),
            .received(app: "httpbin", count: 60),
            .latency(load: "phase1", bounds: [LatencyBound(percentile: "p99", comparison: .lessThan, bound: .milliseconds(5))]),
            .counter(proxy: "bookstore/bookstore-v1", name: "http_requests_total", comparison: .greaterThan, value: 3),
        ])
        #expect(scenario.expectations.map(\.text) == [
            "phase1 status {200: 3, 429: 7}",
            "phase1 backends {bookstore-v1: 50%, bookstore-v2: 50%} ± 5%",
            "app httpbin received 60",
            "phase1 latency {p99: < 5ms}",
            "proxy bookstore/bookstore-v1 counter http_requests_total > 3",
        ])
    }

    @Test func defaultsFollowAPlainFSMInstall() throws {
        let scenario = try ScenarioParser.parse("name: minimal\n", file: "m.yaml")
        #expect(scenario.seed == 1)
        #expect(scenario.duration == nil)
        #expect(scenario.mesh.meshConfig.traffic.enablePermissiveTrafficPolicyMode)
        #expect(scenario.mesh.meshConfig.traffic.enableEgress)
        #expect(!scenario.mesh.meshConfig.featureFlags.enableRetryPolicy)
        #expect(scenario.steps.isEmpty && scenario.expectations.isEmpty)
    }

    @Test func meshAndNetworkVariants() throws {
        let scenario = try ScenarioParser.parse("""
        name: variants
        mesh:
          enablePermissiveTrafficPolicyMode: false
          enableEgress: false
          featureFlags: { enableEgressPolicy: false, enableAccessControlPolicy: false, enablePluginPolicy: true }
          configDelay: 2s
        network:
          latency: { p50: 250us, p99: 2ms }
          loss: 0.01
        """, file: "v.yaml")
        let config = scenario.mesh.meshConfig
        #expect(!config.traffic.enablePermissiveTrafficPolicyMode)
        #expect(!config.traffic.enableEgress)
        #expect(!config.featureFlags.enableEgressPolicy && !config.featureFlags.enableAccessControlPolicy && config.featureFlags.enablePluginPolicy)
        #expect(scenario.mesh.configDelay == .seconds(2))
        #expect(scenario.network.latency == .distribution(p50: .microseconds(250), p99: .milliseconds(2)))
        #expect(scenario.network.loss == 0.01)
    }

    @Test func appOptionsKeepModelSpecificKeys() throws {
        let text = "name: opts\n" + manifestsBlock + "\napps:\n  httpbin: { model: httpbin, errorRate: 0.1, status: 503 }\n"
        let scenario = try ScenarioParser.parse(text, file: "o.yaml")
        #expect(scenario.apps["httpbin"]?.options == ["errorRate": "0.1", "status": "503"])
        let percent = try ScenarioParser.parse("name: opts\n" + manifestsBlock + "\napps:\n  httpbin: { model: echo, errorRate: 20%, errorStatus: 503 }\n", file: "o.yaml")
        #expect(percent.apps["httpbin"]?.options == ["errorRate": "0.2", "errorStatus": "503"])
    }

    /// Found by fuzz-scenario (a scenario cut short inside a flow mapping, minimized to `{`): the
    /// error named the line after the last one of the file.
    @Test func aFileCutShortInsideAFlowMappingErrsOnItsLastLine() throws {
        #expect(try parseError("{").location == SourceLocation(file: "bad.yaml", line: 1, column: 2))
        let cut = try parseError("name: cut\nmesh: { enablePermissiveTrafficPolicy: tr")
        #expect(cut.location == SourceLocation(file: "bad.yaml", line: 2, column: 42))
        #expect(cut.message.hasPrefix("YAML syntax error: "))
    }

    @Test func appOptionsAreChecked() throws {
        let base = "name: opts\n" + manifestsBlock + "\napps:\n"
        let typo = try parseError(base + "  httpbin: { model: httpbin, errorRat: 0.1 }\n")
        #expect(typo.path == "apps.httpbin.errorRat")
        #expect(typo.message.contains("unknown field \"errorRat\""))
        let badStatus = try parseError(base + "  httpbin: { model: httpbin, status: 42 }\n")
        #expect(badStatus.path == "apps.httpbin.status")
        let badRate = try parseError(base + "  httpbin: { model: httpbin, errorRate: 2 }\n")
        #expect(badRate.message.contains("between 0 and 1"))
    }

    // MARK: - bad input

    @Test func missingName() throws {
        let error = try parseError("seed: 3\nduration: 1s\n")
        #expect(error.file == "bad.yaml")
        #expect(error.path == "name")
        #expect(error.line == 1 && error.column == 1)
        #expect(error.message.contains("missing required field \"name\""))
    }

    @Test func wrongType() throws {
        let error = try parseError("name: x\nseed: forty-two\n")
        #expect((error.line, error.column) == (2, 7))
        #expect(error.path == "seed")
        #expect(error.message == "expected integer, found string \"forty-two\"")
    }

    @Test func unknownKeyIsAnError() throws {
        let error = try parseError("name: x\nmesh:\n  enablePermisiveTrafficPolicy: true\n")
        #expect((error.line, error.column) == (3, 3))
        #expect(error.path == "mesh.enablePermisiveTrafficPolicy")
        #expect(error.message.contains("unknown field \"enablePermisiveTrafficPolicy\""))
        #expect(error.message.contains("enablePermissiveTrafficPolicy"))

        let topLevel = try parseError("name: x\nexpects: []\n")
        #expect((topLevel.line, topLevel.column, topLevel.path) == (2, 1, "expects"))
    }

    @Test func badDuration() throws {
        let error = try parseError("name: x\nduration: 30 seconds\n")
        #expect((error.line, error.column, error.path) == (2, 11, "duration"))
        #expect(error.message.contains("expected a duration"))
    }

    @Test func errorInsideManifestsPointsIntoTheScenarioFile() throws {
        // The bad value sits on line 13 of the outer file, indented under `manifests: |`.
        let text = "name: x\n" + manifestsBlock.replacing("    replicas: 1\n    selector:\n      matchLabels:\n        app: bookstore\n        version: v1", with: "    replicas: one\n    selector:\n      matchLabels:\n        app: bookstore\n        version: v1")
        let error = try parseError(text)
        let expected = position(of: "replicas: one", in: text)
        #expect(error.line == expected.line)
        #expect(error.column == expected.column + "replicas: ".count)
        #expect(error.path.hasSuffix("replicas"))
    }

    @Test func errorInsideAnApplyStepPointsIntoTheScenarioFile() throws {
        let text = "name: x\nsteps:\n  - at: 1s\n    apply: |\n\n      apiVersion: apps/v1\n      kind: Deployment\n      metadata:\n        name: d\n      spec:\n        replicas: many\n"
        let error = try parseError(text)
        #expect((error.line, error.column) == (11, 19))
    }

    @Test func windowsLineEndingsKeepPositions() throws {
        let text = "name: x\r\nmanifests: |\r\n  apiVersion: v1\r\n  kind: Service\r\n  metadata:\r\n    name: 5\r\n"
        let error = try parseError(text)
        #expect((error.line, error.column) == (6, 11))
    }

    @Test func yamlSyntaxErrorHasAPosition() throws {
        let error = try parseError("name: x\nmesh: {enableEgress: true\n")
        #expect(error.line >= 2)
        #expect(error.message.contains("YAML syntax error"))
    }

    @Test func expectationNamingAnUnknownLoad() throws {
        let text = "name: x\n" + manifestsBlock + """

        steps:
          - at: 0s
            load: { name: phase1, from: curl/curl, url: "http://bookstore.bookstore:14001/", requests: 5 }
        expect:
          - load: phase2
            status: { 200: 5 }
        """
        let error = try parseError(text)
        let expected = position(of: "load: phase2", in: text)
        #expect((error.line, error.column) == (expected.line, expected.column + "load: ".count))
        #expect(error.path == "expect[0].load")
        #expect(error.message.contains("no load named \"phase2\""))
        #expect(error.message.contains("phase1"))
    }

    @Test func loadNamesMustBeUnique() throws {
        let text = "name: x\n" + manifestsBlock + """

        steps:
          - at: 0s
            load: { name: a, from: curl/curl, url: "http://bookstore.bookstore:14001/", requests: 5 }
          - at: 1s
            load: { name: a, from: curl/curl, url: "http://bookstore.bookstore:14001/", requests: 5 }
        """
        let error = try parseError(text)
        let second = position(of: "name: a", in: text, occurrence: 2)
        #expect((error.line, error.column) == (second.line, second.column + "name: ".count))
        #expect(error.path == "steps[1].load.name")
        #expect(error.message.contains("duplicate load name"))
    }

    @Test func loadFromMustNameADeployment() throws {
        let text = "name: x\n" + manifestsBlock + """

        steps:
          - at: 0s
            load: { name: a, from: curl/curly, url: "http://bookstore.bookstore:14001/", requests: 5 }
        """
        let error = try parseError(text)
        #expect(error.path == "steps[0].load.from")
        #expect(error.message.contains("no Deployment \"curl/curly\""))
        #expect(error.message.contains("curl/curl"))
    }

    @Test func tolerancesAndSharesAreChecked() throws {
        let base = "name: x\n" + manifestsBlock + """

        steps:
          - at: 0s
            load: { name: a, from: curl/curl, url: "http://bookstore.bookstore:14001/", requests: 5 }
        expect:
          - load: a

        """
        let overShare = try parseError(base + "    backends: { bookstore-v1: 150% }\n")
        #expect(overShare.path == "expect[0].backends.bookstore-v1")
        #expect(overShare.message.contains("between 0% and 100%"))
        let bigFraction = try parseError(base + "    backends: { bookstore-v1: 50 }\n")
        #expect(bigFraction.message.contains("between 0 and 1"))
        let badTolerance = try parseError(base + "    backends: { bookstore-v1: 50% }\n    tolerance: lots\n")
        #expect(badTolerance.path == "expect[0].tolerance")
        let twoChecks = try parseError(base + "    status: { 200: 5 }\n    latency: { p99: 5ms }\n")
        #expect(twoChecks.message.contains("exactly one check"))
        let badPercentile = try parseError(base + "    latency: { p95: 5ms }\n")
        #expect(badPercentile.path == "expect[0].latency.p95")
        let badBound = try parseError(base + "    latency: { p99: \"< soon\" }\n")
        #expect(badBound.message.contains("expected a bound"))
    }

    @Test func stepsNeedExactlyOneAction() throws {
        let none = try parseError("name: x\nsteps:\n  - at: 1s\n")
        #expect((none.line, none.column, none.path) == (3, 5, "steps[0]"))
        let both = try parseError("name: x\nsteps:\n  - at: 1s\n    delete: { kind: Service, name: a }\n    fault: { kind: kill-pod, target: a/b }\n")
        #expect(both.message.contains("exactly one action"))
        let badFault = try parseError("name: x\nsteps:\n  - at: 1s\n    fault: { kind: meteor, target: a/b }\n")
        #expect(badFault.path == "steps[0].fault.kind")
        let badKey = try parseError("name: x\nsteps:\n  - at: 1s\n    fault: { kind: kill-pod, target: a/b, add: 1s }\n")
        #expect(badKey.path == "steps[0].fault.add")
    }

    @Test func loadWithoutAnEndIsRejected() throws {
        let text = "name: x\n" + manifestsBlock + """

        steps:
          - at: 0s
            load: { name: a, from: curl/curl, url: "http://bookstore.bookstore:14001/" }
        """
        let error = try parseError(text)
        #expect(error.path == "steps[0].load")
        #expect(error.message.contains("\"requests\" or \"duration\""))
    }

    private static let oneLoad = "name: x\n" + manifestsBlock + """

        steps:
          - at: 0s
            load: { name: a, from: curl/curl, url: "http://bookstore.bookstore:14001/", requests: 5 }
        expect:

        """

    @Test func bodiesExpectation() throws {
        let scenario = try ScenarioParser.parse(Self.oneLoad + """
          - load: a
            bodies: { "Hi, I am v1!": 50%, "Hi, I am v2!": 0.5 }
          - load: a
            bodies: { "say \\"hi\\"": 100% }
            tolerance: 0%

        """, file: "b.yaml")
        #expect(scenario.expectations.map(\.check) == [
            .bodies(load: "a", shares: ["Hi, I am v1!": 0.5, "Hi, I am v2!": 0.5], tolerance: 0.05),
            .bodies(load: "a", shares: ["say \"hi\"": 1], tolerance: 0),
        ])
        #expect(scenario.expectations.map(\.text) == [
            #"a bodies {"Hi, I am v1!": 50%, "Hi, I am v2!": 50%} ± 5%"#,
            #"a bodies {"say \"hi\"": 100%} ± 0%"#,
        ])
    }

    @Test func badBodiesExpectations() throws {
        let overShare = try parseError(Self.oneLoad + "  - load: a\n    bodies: { \"x\": 150% }\n")
        #expect(overShare.path == "expect[0].bodies.x")
        #expect(overShare.message.contains("between 0% and 100%"))
        let empty = try parseError(Self.oneLoad + "  - load: a\n    bodies: {}\n")
        #expect(empty.path == "expect[0].bodies")
        #expect(empty.message.contains("at least one body"))
        let notAMap = try parseError(Self.oneLoad + "  - load: a\n    bodies: [x]\n")
        #expect(notAMap.path == "expect[0].bodies")
        let unknownLoad = try parseError(Self.oneLoad + "  - load: b\n    bodies: { x: 100% }\n")
        #expect(unknownLoad.path == "expect[0].load")
        #expect(unknownLoad.message.contains("no load named \"b\""))
        let strayKey = try parseError(Self.oneLoad + "  - load: a\n    bodies: { x: 100% }\n    backend: y\n")
        #expect(strayKey.path == "expect[0].backend")
    }

    @Test func appCounterExpectation() throws {
        let scenario = try ScenarioParser.parse(Self.oneLoad + """
          - app: bookstore-v1
            counter: booksSold
            value: "> 5"
          - app: bookstore-v2
            counter: booksSold
            value: 0

        """, file: "c.yaml")
        #expect(scenario.expectations.map(\.check) == [
            .appCounter(app: "bookstore-v1", name: "booksSold", comparison: .greaterThan, value: 5),
            .appCounter(app: "bookstore-v2", name: "booksSold", comparison: .equal, value: 0),
        ])
        #expect(scenario.expectations.map(\.text) == ["app bookstore-v1 counter booksSold > 5", "app bookstore-v2 counter booksSold == 0"])
    }

    @Test func badAppCounterExpectations() throws {
        let unknownApp = try parseError(Self.oneLoad + "  - app: bookbuyer\n    counter: booksBought\n    value: \"> 5\"\n")
        #expect(unknownApp.path == "expect[0].app")
        #expect(unknownApp.message.contains("no Deployment named \"bookbuyer\""))
        let badValue = try parseError(Self.oneLoad + "  - app: bookstore-v1\n    counter: booksSold\n    value: \"many\"\n")
        #expect(badValue.path == "expect[0].value")
        #expect(badValue.message.contains("expected a number or a comparison"))
        let bothTargets = try parseError(Self.oneLoad + "  - app: bookstore-v1\n    proxy: bookstore/bookstore-v1\n    counter: booksSold\n    value: 1\n")
        #expect(bothTargets.path == "expect[0].proxy")
        let withReceived = try parseError(Self.oneLoad + "  - app: bookstore-v1\n    counter: booksSold\n    received: 1\n")
        #expect(withReceived.message.contains("exactly one check"))
    }
}
