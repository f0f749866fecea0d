import AsyncHTTPClient
import Foundation
import MeshBenchKit
import MeshControl
import MeshIdentity
import MeshKube
import MeshKubeTesting
import MeshModel
import NIOCore
import NIOHTTP1

/// `bench kube --fsm PATH [--services N] [--pods-per-service M] [--rounds R] [--out FILE]`:
/// `fsm controller --kubernetes` (a child process, so that its memory is its own) against the
/// API-server double holding the synthetic SMI cluster of `bench control-plane` as API objects.
/// Measures the time from the process start to every config ready (its lists paged, decoded and
/// applied), its resident memory per pod, and R endpoint changes from the watch event to the
/// changed config served to a client's long poll.
struct KubeBench {
    var fsm: String
    var services = 5000
    var podsPerService = 10
    var rounds = 20
    var out: String?

    static let host = "127.94.0.1"
    static let apiPort = 16061
    static let operationsPort = 19092

    static func parse(_ arguments: [String]) -> KubeBench {
        var rest = arguments[...]
        var fsm = ".build/release/fsm"
        var bench = KubeBench(fsm: fsm)
        func value(_ flag: String) -> String {
            guard let next = rest.popFirst() else { fail("\(flag) needs a value") }
            return next
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--fsm": fsm = value(flag)
            case "--services": bench.services = Int(value(flag)) ?? 0
            case "--pods-per-service": bench.podsPerService = Int(value(flag)) ?? 0
            case "--rounds": bench.rounds = Int(value(flag)) ?? 0
            case "--out": bench.out = value(flag)
            default: fail("bench kube: unknown option \(flag) (--fsm PATH --services N --pods-per-service M --rounds R --out FILE)")
            }
        }
        guard bench.services > 10, bench.podsPerService > 0, bench.rounds > 0 else { fail("bench kube: --services > 10, --pods-per-service and --rounds > 0") }
        bench.fsm = fsm
        return bench
    }

    struct Result: Sendable {
        var pods: Int
        var objects: Int
        /// From the process start: the secrets and the election done (the operator token written),
        /// every kind listed (`/health/ready`), every config computed.
        var secondsToListening: Double
        var secondsToSynced: Double
        var secondsToReady: Double
        /// The controller's CPU time (user + system) when every kind was listed and when every config was ready.
        var cpuToSynced: Double
        var cpuToReady: Double
        var rssKiB: Int
        var peakKiB: Int
        var changeMilliseconds: [Double]
    }

    func run() async throws -> Result {
        let generator = ClusterGenerator(services: services, podsPerService: podsPerService, mode: .smi)
        let double = try await KubeAPIDouble.start(.init(host: Self.host))
        defer { Task { await double.shutdown() } }
        let objects = generator.apiObjects()
        for (type, batch) in Dictionary(grouping: objects, by: { $0.0 }) { await double.put(type, batch.map(\.1)) }
        let pods = objects.filter { $0.0 == .pods }.count
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-kube-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let kubeconfig = directory.appendingPathComponent("kubeconfig").path
        try Data("""
        apiVersion: v1
        kind: Config
        current-context: double
        clusters: [{name: double, cluster: {server: "\(double.url)"}}]
        contexts: [{name: double, context: {cluster: double}}]
        users: []

        """.utf8).write(to: URL(fileURLWithPath: kubeconfig))
        let start = ContinuousClock.now
        let controller = try ChildProcess(name: "fsm-controller", executable: fsm, arguments: [
            "controller", "--kubernetes", "--kubeconfig", kubeconfig, "--state-dir", directory.appendingPathComponent("state").path,
            "--listen", "\(Self.host):\(Self.apiPort)", "--operations-listen", "\(Self.host):\(Self.operationsPort)", "--log-level", "warning",
        ], logDirectory: directory)
        defer { controller.stop() }
        let expectedMeshed = generator.namespaceCount * ClusterGenerator.clientsPerNamespace + services * podsPerService
        let operatorToken = try await waitForToken(directory.appendingPathComponent("state/operator.token").path)
        let listening = start.duration(to: .now)
        try await waitUntilSynced(controller)
        let synced = start.duration(to: .now)
        let cpuToSynced = controller.cpuSeconds() ?? 0
        try await waitUntilMeshed(expectedMeshed, token: operatorToken, controller: controller)
        let ready = start.duration(to: .now)
        let cpuToReady = controller.cpuSeconds() ?? 0
        let status = (try? String(contentsOfFile: "/proc/\(controller.pid)/status", encoding: .utf8)) ?? ""
        let rss = ProcessUsage.kibibytes("VmRSS", statusText: status) ?? 0
        let peak = ProcessUsage.kibibytes("VmHWM", statusText: status) ?? 0
        let changes = try await endpointChanges(generator, double: double)
        return Result(pods: pods, objects: objects.count, secondsToListening: Self.seconds(listening), secondsToSynced: Self.seconds(synced),
                      secondsToReady: Self.seconds(ready), cpuToSynced: cpuToSynced, cpuToReady: cpuToReady, rssKiB: rss, peakKiB: peak, changeMilliseconds: changes)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Polls `/health/ready` (cheap) until every kind was listed.
    private func waitUntilSynced(_ controller: ChildProcess) async throws {
        for _ in 0..<24_000 {
            guard controller.isRunning else { throw KubeBenchError("the controller exited: \(controller.logTail())") }
            var request = HTTPClientRequest(url: "http://\(Self.host):\(Self.operationsPort)/health/ready")
            request.method = .GET
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(5)), response.status == .ok { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw KubeBenchError("the controller was not ready in 4 minutes: \(controller.logTail())")
    }

    private func waitForToken(_ path: String) async throws -> String {
        for _ in 0..<6000 {
            if let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty { return text.trimmingCharacters(in: .whitespacesAndNewlines) }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw KubeBenchError("no operator token at \(path) after a minute")
    }

    /// Polls `/v1/status` until `expected` pods are meshed (the configs exist once they are).
    private func waitUntilMeshed(_ expected: Int, token: String, controller: ChildProcess) async throws {
        for _ in 0..<4_800 {
            guard controller.isRunning else { throw KubeBenchError("the controller exited: \(controller.logTail())") }
            if let status = try? await Self.get("/v1/status", token: token), let value = try? JSONValue(parsing: status.body),
               case .int(let meshed)? = value["meshedPods"], meshed >= expected, value["synced"] == .bool(true) {
                return
            }
            // Each status sorts every meshed pod on the controller's loop: not too often.
            try await Task.sleep(for: .milliseconds(50))
        }
        throw KubeBenchError("the controller did not mesh \(expected) pods in 4 minutes: \(controller.logTail())")
    }

    /// Moves the first pod of a split backend to a new address, `rounds` times; each time the
    /// latency from the change in the API to the long poll of a client that routes to it answering.
    private func endpointChanges(_ generator: ClusterGenerator, double: KubeAPIDouble) async throws -> [Double] {
        let root = services / 2 / 10 * 10
        let client = PodKey(namespace: generator.namespace(ofService: root), name: "client-\(root / 10 % ClusterGenerator.clientsPerNamespace)")
        guard let secret = await double.object(.secrets, namespace: "fsm-system", name: ControllerSecrets.credentialSecretName),
              let keyText = secret["data"]?["credential.key"]?.stringValue, let key = Data(base64Encoded: keyText) else {
            throw KubeBenchError("the controller made no credential key Secret")
        }
        var random = SystemRandomNumberGenerator()
        let token = try CredentialAuthority(keyBytes: Array(key)).mint(.pod(namespace: client.namespace, name: client.name), using: &random).token
        let path = "/v1/configs/\(client.namespace)/\(client.name)"
        var latencies: [Double] = []
        for round in 0..<rounds {
            let current = try await Self.get(path, token: token)
            guard current.status == 200, let version = current.version else { throw KubeBenchError("\(path): \(current.status) \(current.body.prefix(200))") }
            guard case .upsert(let resource) = generator.endpointChange(round: round), let (type, object) = ClusterGenerator.apiObject(resource),
                  case .pod(let pod) = resource else { throw KubeBenchError("no endpoint change") }
            async let held = Self.get("\(path)?version=\(version)&wait=30s", token: token)
            try await Task.sleep(for: .milliseconds(200))
            let sent = ContinuousClock.now
            await double.put(type, [object])
            let answer = try await held
            let elapsed = sent.duration(to: .now)
            guard answer.status == 200, answer.body.contains(pod.podIP ?? "-") else {
                throw KubeBenchError("round \(round): the long poll answered \(answer.status) without \(pod.podIP ?? "")")
            }
            latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
        }
        return latencies
    }

    struct Answer: Sendable {
        var status: Int
        var body: String
        var version: String?
    }

    static func get(_ path: String, token: String) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://\(host):\(apiPort)\(path)")
        request.headers.add(name: "authorization", value: "Bearer \(token)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(40))
        let body = try await response.body.collect(upTo: 256 << 20)
        return Answer(status: Int(response.status.code), body: String(buffer: body), version: response.headers.first(name: "x-fsm-config-version"))
    }

    func report(_ result: Result) -> String {
        let sorted = result.changeMilliseconds.sorted()
        let median = sorted[sorted.count / 2]
        let p90 = sorted[min(sorted.count - 1, sorted.count * 9 / 10)]
        return """
        | services | pods | API objects | start to listening (s) | to every kind listed (s) | to all configs ready (s) | controller CPU to listed / to ready (s) | RSS after sync (MiB) | peak RSS (MiB) | RSS per pod (kB) | endpoint change, median (ms) | p90 (ms) | max (ms) |
        |---|---|---|---|---|---|---|---|---|---|---|---|---|
        | \(services) | \(result.pods) | \(result.objects) | \(String(format: "%.2f", result.secondsToListening)) | \(String(format: "%.2f", result.secondsToSynced)) | \(String(format: "%.2f", result.secondsToReady)) | \(String(format: "%.2f / %.2f", result.cpuToSynced, result.cpuToReady)) | \(String(format: "%.1f", Double(result.rssKiB) / 1024)) | \(String(format: "%.1f", Double(result.peakKiB) / 1024)) | \(String(format: "%.1f", Double(result.rssKiB) * 1.024 / Double(result.pods))) | \(String(format: "%.1f", median)) | \(String(format: "%.1f", p90)) | \(String(format: "%.1f", sorted.last ?? 0)) |

        """
    }
}

struct KubeBenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func runKube(_ arguments: [String]) -> Never {
    let bench = KubeBench.parse(arguments)
    switch blockingRun({ try await bench.run() }) {
    case .success(let result):
        let text = bench.report(result)
        print(text, terminator: "")
        if let out = bench.out { try? Data(text.utf8).write(to: URL(fileURLWithPath: out)) }
        exit(0)
    case .failure(let error):
        FileHandle.standardError.write(Data("bench kube: \(error)\n".utf8))
        exit(1)
    }
}
