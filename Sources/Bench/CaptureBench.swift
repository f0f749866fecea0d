import Foundation
import MeshBenchKit
import MeshModel
import MeshShell
import MeshTesting

/// `bench capture`: the two-sidecar path under each way app traffic can reach the sidecar, in one
/// run, as root: the app (`bench load`, a process in the client pod) to the upstream (`bench
/// upstream` in the server pod) directly, through sidecars in local mode (the app addresses its
/// sidecar), under iptables capture, and under eBPF capture with and without the sockmap
/// shortcut (the app dials the service's cluster IP and the kernel hands the connection over).
/// Every mode has its own pair of pods (network namespace + cgroup v2 each, a veth pair between
/// them), all up at once, and the modes take turns at each concurrency.
struct CaptureBenchOptions {
    var concurrencies = [2, 8, 32]
    var qps = 1000.0
    var seconds = 10.0
    var fsm = ".build/release/fsm"
    var bench = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    var out = "bench/capture.md"
    var command = "bench capture"

}

/// One mode's pods and processes.
struct CaptureSetup {
    var mode: CaptureBenchMode
    var client: CapturePod
    var server: CapturePod
    var sidecars: [RunningCommand] = []
    var interceptor: TestInterceptor?
    /// Where the app sends its requests.
    var target: (host: String, port: Int)
}

func runCaptureBench(_ options: CaptureBenchOptions) -> Never {
    if let reason = CaptureTestEnvironment.unavailableReason(needing: ["ip", "nsenter", "iptables-restore"]) ?? TestCgroup.unavailableReason {
        DataPlaneLog.fail("capture benchmark cannot run here: \(reason)")
    }
    guard FileManager.default.isExecutableFile(atPath: options.fsm) else { DataPlaneLog.fail("\(options.fsm) is missing: build it or pass --fsm") }
    var bench = CaptureBench(options: options)
    do {
        try bench.run()
        bench.tearDown()
        exit(0)
    } catch {
        bench.tearDown()
        DataPlaneLog.fail("capture benchmark failed: \(error)")
    }
}

struct CaptureBench {
    static let servicePort = BookstoreConfigs.servicePort
    static let serviceIP = "10.96.0.10"
    let options: CaptureBenchOptions
    var setups: [CaptureSetup] = []
    var counters: [CaptureBenchMode: String] = [:]
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swift-mesh-capture-\(getpid())")

    init(options: CaptureBenchOptions) {
        self.options = options
    }

    mutating func run() throws {
        let started = DataPlaneBench.timestamp()
        let machine = DataPlaneBench.machine()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        for (index, mode) in CaptureBenchMode.allCases.enumerated() {
            setups.append(try start(mode, subnet: index))
            try waitUntilServing(setups[setups.count - 1])
            _ = try load(setups[setups.count - 1], connections: 16, qps: nil, seconds: 2)
        }
        var runs: [CaptureRun] = []
        for connections in options.concurrencies {
            for setup in setups {
                let before = cpu(setup)
                let summary = try load(setup, connections: connections, qps: options.qps, seconds: options.seconds)
                let spent = cpu(setup).map { after in max(0, after - (before ?? 0)) }
                DataPlaneLog.info("capture \(setup.mode.rawValue) c=\(connections): \(summary.line)")
                runs.append(CaptureRun(mode: setup.mode, connections: connections, summary: summary, sidecarCPUSeconds: setup.sidecars.isEmpty ? nil : spent))
            }
        }
        for index in setups.indices {
            if let interceptor = setups[index].interceptor {
                counters[setups[index].mode] = interceptor.stop().split(separator: "\n").last { $0.hasPrefix("interceptor stopped:") }.map(String.init)
                setups[index].interceptor = nil
            }
        }
        let report = CaptureReport(command: options.command, date: started, machine: machine, runs: runs, counters: counters).markdown()
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: options.out).deletingLastPathComponent(), withIntermediateDirectories: true)
        try report.write(toFile: options.out, atomically: true, encoding: .utf8)
        print(report)
    }

    func tearDown() {
        for setup in setups {
            if let interceptor = setup.interceptor { _ = interceptor.stop() }
            setup.client.delete()
            setup.server.delete()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// A pair of pods on 10.90.<subnet>.1 and .2 with the mode's processes.
    func start(_ mode: CaptureBenchMode, subnet: Int) throws -> CaptureSetup {
        let (clientIP, serverIP) = ("10.90.\(subnet).1", "10.90.\(subnet).2")
        let client = try CapturePod("cap-\(subnet)-client", address: clientIP)
        let server = try CapturePod("cap-\(subnet)-server", address: serverIP)
        try client.namespace.connect(to: server.namespace, address: clientIP, otherAddress: serverIP)
        let upstream = try server.namespace.start([options.bench, "upstream", "--host", "0.0.0.0", "--port", String(Self.servicePort)],
                                                  readyLine: "upstream listening", cgroup: server.appCgroup)
        upstream.drainOutput()
        var setup = CaptureSetup(mode: mode, client: client, server: server, target: (Self.serviceIP, Self.servicePort))
        switch mode {
        case .direct:
            setup.target = (serverIP, Self.servicePort)
        case .local:
            setup.target = (clientIP, 15001)
            setup.sidecars = try startSidecars(client, server, capture: [])
        case .iptables:
            setup.sidecars = try startSidecars(client, server, capture: ["--capture", "iptables", "--apply-iptables"])
        case .ebpf, .ebpfNoSockmap:
            let interceptor = try TestInterceptor.start(fsm: options.fsm, entries: [client.podsFileEntry(), server.podsFileEntry()],
                                                        arguments: mode == .ebpf ? [] : ["--no-accelerate"])
            guard interceptor.started else { throw BenchFailure(description: "fsm interceptor did not start: \(interceptor.command.seen)") }
            setup.interceptor = interceptor
            setup.sidecars = try startSidecars(client, server, capture: ["--capture", "ebpf"])
        }
        return setup
    }

    /// The bookstore pair of the data-plane benchmark: the client routes the service to the
    /// server pod, which hands requests to the upstream on its own loopback.
    func startSidecars(_ client: CapturePod, _ server: CapturePod, capture: [String]) throws -> [RunningCommand] {
        let configs = [
            (client, BookstoreConfigs.client(bookstoreEndpoint: "\(server.address):\(Self.servicePort)")),
            (server, BookstoreConfigs.server(appAddress: "127.0.0.1:\(Self.servicePort)")),
        ]
        return try configs.map { pod, config in
            let path = directory.appendingPathComponent("\(pod.name).json").path
            try config.renderedJSON(pretty: true).write(toFile: path, atomically: true, encoding: .utf8)
            let arguments = [options.fsm, "sidecar", "--config", path, "--pod-ip", pod.address, "--insecure-plaintext-peers", "--log-level", "info"] + capture
            // Info level: "sidecar started" is how the bench knows it is up (the sidecar logs no
            // line per request). eBPF capture needs the sidecar in its cgroup; the others do not mind.
            let sidecar = try pod.namespace.start(arguments, readyLine: "sidecar started", cgroup: pod.sidecarCgroup)
            sidecar.drainOutput()
            return sidecar
        }
    }

    /// `bench load` as the client pod's app (its network namespace and app cgroup).
    func load(_ setup: CaptureSetup, connections: Int, qps: Double?, seconds: Double) throws -> LoadSummary {
        var arguments = [options.bench, "load", "--host", setup.target.host, "--port", String(setup.target.port), "--host-header", BookstoreConfigs.hostHeader,
                         "--connections", String(connections), "--seconds", String(seconds)]
        arguments += qps.map { ["--qps", String($0)] } ?? ["--closed"]
        let result = try setup.client.app(arguments)
        guard result.status == 0, let summary = LoadSummary(result.output) else {
            throw BenchFailure(description: "\(setup.mode.rawValue): bench load failed: \(result.output) \(result.errorOutput)")
        }
        return summary
    }

    func waitUntilServing(_ setup: CaptureSetup) throws {
        for _ in 0..<40 {
            if let summary = try? load(setup, connections: 1, qps: nil, seconds: 0.3), summary.requests > 0, summary.errors == 0 { return }
            usleep(250_000)
        }
        throw BenchFailure(description: "\(setup.mode.rawValue) never answered 200")
    }

    /// utime + stime of the mode's sidecars, seconds.
    func cpu(_ setup: CaptureSetup) -> Double? {
        guard !setup.sidecars.isEmpty else { return nil }
        var total = 0.0
        for sidecar in setup.sidecars {
            guard let text = try? String(contentsOfFile: "/proc/\(sidecar.process.pid)/stat", encoding: .utf8),
                  let ticks = ProcessUsage.cpuTicks(statText: text) else { return nil }
            total += Double(ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
        return total
    }
}
