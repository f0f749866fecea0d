import MeshModel
import SimCore
import Testing

@Suite struct SimulationTrafficTests {
    /// Two Deployments behind one Service: the client's sidecar balances between them.
    @Test func twoDeploymentsShareAboutEvenly() throws {
        let scenario = Scenario(
            name: "share", seed: 3,
            mesh: MeshSettings(meshConfig: permissive(), namespaces: ["demo", "curl"]),
            manifests: [
                service("echo", "demo", port: 8080, selector: ["app": "echo"]),
                deployment("echo-v1", "demo", labels: ["app": "echo", "version": "v1"], image: "flomesh/pipy-ok"),
                deployment("echo-v2", "demo", labels: ["app": "echo", "version": "v2"], image: "flomesh/pipy-ok"),
                deployment("curl", "curl", labels: ["app": "curl"], image: "curlimages/curl"),
            ],
            steps: [Step(at: .zero, action: .load(LoadSpec(name: "main", from: "curl/curl", url: "http://echo.demo:8080/", requests: 1000, qps: 200, concurrency: 2)))])
        let result = runScenario(scenario)
        let main = try load(result, "main")
        #expect(main.count(status: 200) == 1000)
        let v1 = Double(main.count(backend: "echo-v1")) / 1000
        #expect(abs(v1 - 0.5) < 0.05)
        // 1000 requests at 200/s: about 5 s of one-second buckets.
        #expect(main.buckets.count >= 5 && main.buckets.count <= 6)
        #expect(main.buckets.reduce(0) { $0 + $1.status.reduce(0) { $0 + $1.count } } == 1000)
    }

    /// TrafficSplit 100/0, then 0/100: each phase goes to one version only.
    @Test func trafficSplitPhases() throws {
        func split(_ v1: Int, _ v2: Int) -> Resource {
            .trafficSplit(TrafficSplit(metadata: ObjectMeta(name: "split", namespace: "bookstore"), service: "bookstore.bookstore",
                                       backends: [TrafficSplitBackend(service: "bookstore-v1", weight: v1), TrafficSplitBackend(service: "bookstore-v2", weight: v2)]))
        }
        let scenario = Scenario(
            name: "split", seed: 5,
            mesh: MeshSettings(meshConfig: permissive(), namespaces: ["bookstore", "curl"]),
            manifests: [
                service("bookstore", "bookstore", port: 14001, selector: ["app": "bookstore"]),
                service("bookstore-v1", "bookstore", port: 14001, selector: ["app": "bookstore", "version": "v1"]),
                service("bookstore-v2", "bookstore", port: 14001, selector: ["app": "bookstore", "version": "v2"]),
                deployment("bookstore-v1", "bookstore", labels: ["app": "bookstore", "version": "v1"], image: "x/echo"),
                deployment("bookstore-v2", "bookstore", labels: ["app": "bookstore", "version": "v2"], image: "x/echo"),
                deployment("curl", "curl", labels: ["app": "curl"], image: "curlimages/curl"),
                split(100, 0),
            ],
            steps: [
                Step(at: .zero, action: .load(LoadSpec(name: "phase1", from: "curl/curl", url: "http://bookstore.bookstore:14001/", requests: 100, qps: 50))),
                Step(at: .seconds(5), action: .apply([split(0, 100)])),
                Step(at: .seconds(6), action: .load(LoadSpec(name: "phase2", from: "curl/curl", url: "http://bookstore.bookstore:14001/", requests: 100, qps: 50))),
            ])
        let result = runScenario(scenario)
        let phase1 = try load(result, "phase1"), phase2 = try load(result, "phase2")
        #expect(phase1.count(backend: "bookstore-v1") == 100)
        #expect(phase2.count(backend: "bookstore-v2") == 100)
        #expect(result.events.contains { $0.text.hasPrefix("config pushed to") && $0.at > .seconds(5) })
    }

    /// A killed pod: requests fail while it is down, then succeed after it restarts.
    @Test func killedPodFailsThenRecovers() throws {
        var scenario = echoScenario()
        scenario.manifests[1] = deployment("echo", "demo", replicas: 1, labels: ["app": "echo"], image: "flomesh/pipy-ok")
        // Without sidecars a client sees refused connections as status 0 (a meshed server would
        // refuse this unmeshed client at its inbound border anyway).
        scenario.mesh.namespaces = []
        scenario.steps = [
            Step(at: .zero, action: .load(LoadSpec(name: "main", from: "curl/curl", url: "http://echo.demo:8080/", duration: .seconds(6), qps: 10))),
            Step(at: .seconds(2), action: .fault(.killPod(target: "demo/echo", restartAfter: .seconds(2)))),
        ]
        let result = runScenario(scenario)
        let main = try load(result, "main")
        #expect(main.requests == 60)
        #expect(main.count(status: 0) >= 15 && main.count(status: 0) <= 25)
        #expect(main.count(status: 200) + main.count(status: 0) == 60)
        let last = try #require(main.buckets.last)
        #expect(last.status.map(\.code) == [200])
        #expect(result.events.contains { $0.text == "killed pod demo/echo-0" })
        #expect(result.events.contains { $0.text == "restarted pod demo/echo-0" })
    }

    /// The same with a meshed client: its sidecar answers for the dead upstream, then traffic recovers.
    @Test func killedPodBehindSidecarRecovers() throws {
        var scenario = echoScenario()
        scenario.manifests[1] = deployment("echo", "demo", replicas: 1, labels: ["app": "echo"], image: "flomesh/pipy-ok")
        scenario.steps = [
            Step(at: .zero, action: .load(LoadSpec(name: "main", from: "curl/curl", url: "http://echo.demo:8080/", duration: .seconds(6), qps: 10))),
            Step(at: .seconds(2), action: .fault(.killPod(target: "demo/echo-0", restartAfter: .seconds(2)))),
        ]
        let result = runScenario(scenario)
        let main = try load(result, "main")
        #expect(main.requests == 60)
        #expect(main.count(status: 200) >= 35 && main.count(status: 200) <= 45)
        #expect(main.buckets.last?.status.map(\.code) == [200])
        #expect(main.buckets[3].status.allSatisfy { $0.code != 200 })
    }

    /// demos.md §3: one request to /status/503 reaches httpbin 6 times (5 retries).
    @Test func retryReachesHttpbinSixTimes() throws {
        var config = permissive()
        config.featureFlags.enableRetryPolicy = true
        let retry = Retry(metadata: ObjectMeta(name: "retry", namespace: "curl"),
                          source: IdentityReference(name: "curl", namespace: "curl"),
                          destinations: [IdentityReference(kind: "Service", name: "httpbin", namespace: "httpbin")],
                          retryPolicy: RetryPolicy(retryOn: "5xx", perTryTimeout: .seconds(1), numRetries: 5, retryBackoffBaseInterval: .seconds(1)))
        let scenario = Scenario(
            name: "retry",
            mesh: MeshSettings(meshConfig: config, namespaces: ["httpbin", "curl"]),
            manifests: [
                service("httpbin", "httpbin", port: 14001, selector: ["app": "httpbin"]),
                deployment("httpbin", "httpbin", labels: ["app": "httpbin"], image: "flomesh/httpbin:ken", serviceAccount: "httpbin"),
                deployment("curl", "curl", labels: ["app": "curl"], image: "curlimages/curl", serviceAccount: "curl"),
                .retry(retry),
            ],
            steps: [Step(at: .zero, action: .load(LoadSpec(name: "one", from: "curl/curl", url: "http://httpbin.httpbin.svc.cluster.local:14001/status/503", requests: 1)))])
        let result = runScenario(scenario)
        let one = try load(result, "one")
        #expect(one.count(status: 503) == 1)
        #expect(result.apps.first(where: { $0.deployment == "httpbin" })?.received == 6)
        // Five backoffs of at most 10 × base each (the sidecar's backoff law) lie in the latency.
        #expect(one.latency.max > 10 && one.latency.max < 50_000)
        let curl = try #require(result.proxies.first(where: { $0.pod == "curl/curl-0" }))
        #expect(curl.counters.first(where: { $0.name == "cluster.httpbin/httpbin|14001.upstream_rq_retry" })?.value == 5)
    }

    private func fortioScenario(_ setting: UpstreamTrafficSetting, url: String) -> Scenario {
        Scenario(
            name: "rate-limit",
            mesh: MeshSettings(meshConfig: permissive(), namespaces: ["demo"]),
            manifests: [
                service("fortio", "demo", port: 8080, selector: ["app": "fortio"],
                        extraPorts: [ServicePort(name: "tcp-8078", port: 8078, appProtocol: .tcp)]),
                deployment("fortio", "demo", labels: ["app": "fortio"], image: "fortio/fortio:latest_release"),
                deployment("fortio-client", "demo", labels: ["app": "fortio-client"], image: "fortio/fortio:latest_release"),
                .upstreamTrafficSetting(setting),
            ],
            steps: [Step(at: .zero, action: .load(LoadSpec(name: "calls", from: "demo/fortio-client", url: url, requests: 10, concurrency: 3)))])
    }

    /// demos.md §4.2: 3 requests per minute → 3 × 200 and 7 × 429.
    @Test func httpRateLimit() throws {
        let setting = UpstreamTrafficSetting(metadata: ObjectMeta(name: "http-rate-limit", namespace: "demo"), host: "fortio.demo.svc.cluster.local",
                                             rateLimit: LocalRateLimit(http: HTTPLocalRateLimit(requests: 3, unit: .minute)))
        let result = runScenario(fortioScenario(setting, url: "http://fortio.demo.svc.cluster.local:8080"))
        let calls = try load(result, "calls")
        #expect(calls.count(status: 200) == 3)
        #expect(calls.count(status: 429) == 7)
    }

    /// demos.md §4.1: 1 connection per minute, -c 3 -n 10 → 3 ok (worker 0's connection) and 7 failed.
    @Test func tcpRateLimit() throws {
        let setting = UpstreamTrafficSetting(metadata: ObjectMeta(name: "tcp-rate-limit", namespace: "demo"), host: "fortio.demo.svc.cluster.local",
                                             rateLimit: LocalRateLimit(tcp: TCPLocalRateLimit(connections: 1, unit: .minute)))
        let result = runScenario(fortioScenario(setting, url: "tcp://fortio.demo.svc.cluster.local:8078"))
        let calls = try load(result, "calls")
        #expect(calls.count(status: 200) == 3)
        #expect(calls.count(status: 0) == 7)
        let server = try #require(result.proxies.first(where: { $0.pod == "demo/fortio-0" }))
        #expect(server.counters.first(where: { $0.name == "local_rate_limit.inbound_demo/fortio_8078_tcp.rate_limited" })?.value == 7)
    }

    /// Without a limit every TCP call echoes.
    @Test func tcpEchoWithoutLimit() throws {
        let setting = UpstreamTrafficSetting(metadata: ObjectMeta(name: "none", namespace: "demo"), host: "fortio.demo.svc.cluster.local")
        let result = runScenario(fortioScenario(setting, url: "tcp://fortio.demo.svc.cluster.local:8078"))
        let calls = try load(result, "calls")
        #expect(calls.count(status: 200) == 10)
        #expect(result.apps.first(where: { $0.deployment == "fortio" })?.received == 10)
    }
}
