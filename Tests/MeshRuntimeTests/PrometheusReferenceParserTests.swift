import Foundation
import MeshModel
import MeshRuntime
import MeshShell
import MeshTesting
import Testing

/// `/stats/prometheus` of live sidecars, read by the reference parser (PyPI prometheus-client,
/// through scripts/check-prometheus.py, in the test tools' virtual environment that
/// scripts/setup-validate.sh prepares under .build). Pods are .1 and .2 of a test address block.
@Suite(.enabled(if: ReferenceParser.available, "needs prometheus-client in .build/validate-venv (scripts/setup-validate.sh; PyPI)"))
struct PrometheusReferenceParserTests {
    /// One sample as the script prints it: `<family> <type> <sample> <labels JSON> <value>`.
    struct Sample {
        var family: String
        var type: String
        var name: String
        var labels: [String: String]
        var value: Double
    }

    enum Outcome {
        case parsed([Sample])
        case failed(status: Int32, stderr: String)
    }


    static func check(_ text: String) throws -> Outcome {
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("prometheus-\(UInt32.random(in: 0...UInt32.max)).txt")
        try Data(text.utf8).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let completion = try SpawnedProcess.run(ProcessLaunch(ReferenceParser.python, [ReferenceParser.script.path, input.path]), timeout: .seconds(120))
        guard completion.termination.succeeded else { return .failed(status: completion.termination.shellStatus, stderr: completion.errorText) }
        let stdout = completion.output
        var samples: [Sample] = []
        for line in String(decoding: stdout, as: UTF8.self).split(separator: "\n") {
            // Labels JSON has no spaces (compact separators); label values here have none either.
            let parts = line.split(separator: " ", maxSplits: 4)
            guard parts.count == 5, let value = Double(parts[4]),
                  let labels = try JSONSerialization.jsonObject(with: Data(parts[3].utf8)) as? [String: String] else {
                Issue.record("unexpected script output line: \(line)")
                continue
            }
            samples.append(Sample(family: String(parts[0]), type: String(parts[1]), name: String(parts[2]), labels: labels, value: value))
        }
        return .parsed(samples)
    }

    @Test func liveSidecarsExposeWhatTheReferenceParserReads() async throws {
        let retry = RetryPolicy(retryOn: "5xx", numRetries: 1, retryBackoffBaseInterval: .milliseconds(5))
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        let clientWorkload = WorkloadLabels(kind: "Deployment", name: "client", pod: "client-7d9f", namespace: "default")
        let serverWorkload = WorkloadLabels(kind: "Deployment", name: "echo", pod: "echo-5c4b", namespace: "default")
        try await MeshPair.run(block: block, client: MeshPair.clientConfig(serverIP: serverIP, retry: retry),
                               clientWorkload: clientWorkload, serverWorkload: serverWorkload) { mesh in
            #expect(try await mesh.get("/a").status == 200)
            #expect(try await mesh.get("/b").status == 200)
            #expect(try await mesh.get("/status/503").status == 503)
            let garbage = try await RawClient.exchange(host: mesh.clientIP, port: 15001, bytes: "THIS IS NOT HTTP\r\n\r\n")
            #expect(garbage.hasPrefix("HTTP/1.1 400"))

            let clientText = try await mesh.admin(mesh.clientIP, "/stats/prometheus")
            #expect(clientText.status == 200)
            #expect(clientText.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let client: [Sample]
            switch try Self.check(clientText.body) {
            case .failed(let status, let stderr):
                Issue.record("the reference parser rejected /stats/prometheus (exit \(status)): \(stderr)\n\(clientText.body)")
                return
            case .parsed(let samples):
                client = samples
            }
            // Client side: source = this workload, destination = the service behind the cluster.
            let total = client.filter { $0.name == "fsm_request_total" }
            #expect(total.allSatisfy { $0.family == "fsm_request" && $0.type == "counter" })
            let ok = total.first { $0.labels["response_code"] == "200" }
            #expect(ok?.value == 2)
            #expect(ok?.labels["source_kind"] == "Deployment")
            #expect(ok?.labels["source_name"] == "client")
            #expect(ok?.labels["source_pod"] == "client-7d9f")
            #expect(ok?.labels["source_namespace"] == "default")
            #expect(ok?.labels["destination_name"] == "echo")
            #expect(ok?.labels["destination_namespace"] == "default")
            // Two attempts of /status/503, one answer.
            #expect(total.first { $0.labels["response_code"] == "503" }?.value == 1)
            let count = client.first { $0.name == "fsm_request_duration_ms_count" }
            #expect(count?.type == "histogram")
            #expect(count?.value == 3)
            #expect(count?.labels["response_code"] == nil)
            #expect(client.first { $0.name == "fsm_request_duration_ms_bucket" && $0.labels["le"] == "+Inf" }?.value == 3)
            #expect(client.first { $0.name == "sidecar_runtime_downstream_rq_bad_request_total" }?.value == 1)
            #expect(client.first { $0.name == "sidecar_runtime_tls_handshake_failed_total" }?.value == 0)
            #expect(client.first { $0.name == "sidecar_cluster_upstream_rq_retry_total" && $0.labels["sidecar_cluster_name"] == "default/echo|8080" }?.value == 1)

            // Server side: source labels from the client's sidecar, destination = this workload.
            let serverText = try await mesh.admin(mesh.serverIP, "/stats/prometheus").body
            guard case .parsed(let server) = try Self.check(serverText) else {
                Issue.record("the reference parser rejected the server's /stats/prometheus:\n\(serverText)")
                return
            }
            let served = server.filter { $0.name == "fsm_request_total" && $0.labels["response_code"] == "200" }
            #expect(served.count == 1)
            #expect(served.first?.value == 2)
            #expect(served.first?.labels["source_pod"] == "client-7d9f")
            #expect(served.first?.labels["source_namespace"] == "default")
            #expect(served.first?.labels["destination_pod"] == "echo-5c4b")
            #expect(served.first?.labels["destination_kind"] == "Deployment")
            #expect(server.first { $0.name == "fsm_request_total" && $0.labels["response_code"] == "503" }?.value == 2)
            // The mesh's own headers never reach the app.
            #expect(mesh.app.seenHeaders.allSatisfy { headers in !headers.keys.contains { $0.hasPrefix("x-fsm-") } })
        }
    }

    @Test func theScriptFailsOnBrokenText() throws {
        switch try Self.check("# TYPE x counter\nx{a=\"1} 2\n") {
        case .parsed(let samples): Issue.record("broken text parsed: \(samples.map(\.name))")
        case .failed(let status, _): #expect(status == 1)
        }
    }
}

/// scripts/check-prometheus.py and the virtual environment it runs in.
enum ReferenceParser {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let script = root.appendingPathComponent("scripts/check-prometheus.py")
    static let python = root.appendingPathComponent(".build/validate-venv/bin/python").path

    /// The venv's python imports prometheus_client.
    static let available: Bool = {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        let launch = ProcessLaunch(python, ["-c", "import prometheus_client"], standardError: .null)
        return (try? SpawnedProcess.run(launch, timeout: .seconds(60)))?.termination.succeeded == true
    }()
}
