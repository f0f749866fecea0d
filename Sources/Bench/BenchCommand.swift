import ArgumentParser
import Foundation
import MeshBenchKit
import MeshModel

/// `bench control-plane|dataplane|gateway|upstream|load|webhook|kube|capture [options]`: the benchmarks, each a
/// subcommand with its own `--help`. Exit status as `fsm`'s: 0 done, 1 the benchmark failed,
/// 64 a usage error (ArgumentParser's). Nothing is written outside `--out`/`--out-dir` unless
/// asked: `bench dataplane --write-docs` updates the "Data plane" section of docs/BENCHMARKS.md,
/// `bench gateway --write-docs` its "Gateway" section.
@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks of the control plane, the data plane (our sidecar beside Envoy, HAProxy and NGINX), the gateway (beside NGINX and Envoy as edge proxies), the injection webhook and the Kubernetes controller.",
        discussion: "Exit status: 0 done; 1 the benchmark failed; 64 the arguments are invalid.",
        version: MeshVersion.current,
        subcommands: [BenchControlPlane.self, BenchDataPlane.self, BenchGateway.self, BenchUpstream.self, BenchLoad.self, BenchWebhook.self, BenchKube.self, BenchCapture.self]
    )
}

struct BenchControlPlane: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control-plane",
        abstract: "Config generation at scale: full generation and one endpoint change, each case in a child process (its own peak RSS).",
        discussion: """
        Without --services: the matrix of 100, 1000 and 5000 services with --pods-per-service pods, SMI and permissive. \
        Full generation = apply everything + config(for:) every meshed pod + render each distinct config (until \
        --render-budget-mib are rendered; the render time is scaled up when more remain, marked ~). Endpoint change: the \
        median of --endpoint-rounds rounds, each moving one pod to a new IP. --digest (one case) prints digests of every \
        pod's config version and of the distinct configs' JSON, to compare the output of two builds.
        """
    )

    @Option(help: "One case of this many services (at least 10) instead of the matrix.")
    var services: Int?

    @Option(help: "Pods per service (at least 1).")
    var podsPerService = 10

    @Option(help: "Only this mode: smi or permissive.")
    var mode: ClusterGenerator.Mode?

    @Flag(name: .customLong("skip-5000"), help: "Leave the 5000-service cases out of the matrix.")
    var skipLargest = false

    @Flag(help: "Render every pod's config, not only the distinct ones.")
    var renderEachPod = false

    @Option(help: "MiB of distinct configs rendered at most (time extrapolated beyond).")
    var renderBudgetMib = 64

    @Flag(help: "Render every distinct config (no budget).")
    var renderAll = false

    @Option(help: "Endpoint-change rounds (the median is reported).")
    var endpointRounds = 5

    @Flag(help: "Check every pod's config against a full recomputation.")
    var verify = false

    @Flag(help: "Print digests of the configs (one case).")
    var digest = false

    @Option(help: ArgumentHelp("Also write the table to FILE.", valueName: "FILE"))
    var out: String?

    @Flag(help: .hidden)
    var row = false

    func validate() throws {
        if let services, services < 10 { throw ValidationError("--services must be at least 10, found \(services)") }
        if podsPerService < 1 { throw ValidationError("--pods-per-service must be at least 1, found \(podsPerService)") }
        if renderBudgetMib < 1 { throw ValidationError("--render-budget-mib must be at least 1, found \(renderBudgetMib)") }
        if endpointRounds < 1 { throw ValidationError("--endpoint-rounds must be at least 1, found \(endpointRounds)") }
        if renderAll && renderBudgetMib != 64 { throw ValidationError("--render-budget-mib and --render-all exclude each other") }
    }

    func run() throws {
        var options = Options()
        options.services = services
        options.podsPerService = podsPerService
        if let mode { options.modes = [mode] }
        options.skipLargest = skipLargest
        options.renderEachPod = renderEachPod
        options.renderBudget = renderAll ? nil : renderBudgetMib << 20
        options.verify = verify
        options.digest = digest
        options.endpointRounds = endpointRounds
        options.out = out
        options.row = row
        runControlPlane(options)
    }
}

extension ClusterGenerator.Mode: ExpressibleByArgument {}

struct BenchDataPlane: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataplane",
        abstract: "Our sidecar beside Envoy, HAProxy and NGINX: open loop at each concurrency (CO-corrected), closed-loop throughput, a wrk cross-check.",
        discussion: """
        Starts the upstream, our sidecars (fsm sidecar, release build), Envoy, HAProxy and NGINX as separate processes \
        with equivalent static configs in a temporary directory, then runs every mode. Writes OUT-DIR/dataplane.csv, \
        .json and .html; with --write-docs also the "Data plane" section of --docs.
        """
    )

    @OptionGroup var load: ProxyRunArguments

    @Option(help: ArgumentHelp("Modes to run, comma-separated (baseline always runs).", valueName: "baseline,ours-client,..."))
    var modes: String?

    @Option(help: "The fsm binary under test.")
    var fsm = ".build/release/fsm"

    @Option(help: "The binary our sidecars run (default: fsm-sidecar beside --fsm when it is there, as the image ships it; else --fsm).")
    var sidecar: String?

    @Option(help: "Directory for dataplane.csv, .json and .html.")
    var outDir = "bench"

    @Flag(help: "Skip the wrk cross-check.")
    var noWrk = false

    func validate() throws {
        _ = try parsedModes()
    }

    func parsedModes() throws -> [DataPlaneMode]? {
        guard let modes else { return nil }
        var chosen: [DataPlaneMode] = [.baseline]
        for name in modes.split(separator: ",") {
            guard let mode = DataPlaneMode(rawValue: String(name)) else {
                throw ValidationError("--modes: unknown mode \"\(name)\" (known: \(DataPlaneMode.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            chosen.append(mode)
        }
        return DataPlaneMode.allCases.filter(chosen.contains)
    }

    func run() throws {
        var options = DataPlaneOptions()
        options.command = load.commandLine
        options.plan = try load.plan()
        options.modes = try parsedModes() ?? options.modes
        options.fsm = fsm
        options.sidecar = sidecar ?? DataPlaneOptions.sidecarBeside(fsm: fsm)
        options.envoy = load.envoy
        options.outDirectory = outDir
        options.docs = load.writeDocs ? load.docs : nil
        options.wrkCrossCheck = !noWrk
        options.extraNotes = load.note
        runDataPlane(options)
    }
}

struct BenchGateway: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Our gateway beside NGINX and Envoy as edge proxies: open loop at each concurrency (CO-corrected), closed-loop req/s per proxy core plain and TLS-terminating, peak RSS.",
        discussion: """
        Starts the upstream, `fsm gateway --config` (the controller's config for a Gateway + HTTPRoute), NGINX and Envoy as \
        separate processes with one worker each, every one with a plain HTTP and a TLS listener (certificate from `fsm ca`), \
        then runs every mode. Writes OUT-DIR/gateway.json and gateway.md; with --write-docs also the "Gateway" section of \
        --docs. --write-configs DIR writes the proxies' configs there and stops.
        """
    )

    @OptionGroup var load: ProxyRunArguments

    @Option(help: "The fsm binary whose gateway is measured (it also makes the certificate).")
    var fsm = ".build/release/fsm"

    @Option(help: "The loopback address every proxy and the upstream listen on (ports 18501-18591).")
    var host = "127.0.0.1"

    @Option(help: "Directory for gateway.json and gateway.md.")
    var outDir = "bench"

    @Option(help: ArgumentHelp("Write every proxy's config (and the certificate) into DIR, then stop without measuring.", valueName: "DIR"))
    var writeConfigs: String?

    func validate() throws {
        if writeConfigs != nil && load.writeDocs { throw ValidationError("--write-configs and --write-docs exclude each other") }
        var address = in_addr()
        if inet_pton(AF_INET, host, &address) != 1 { throw ValidationError("--host must be an IPv4 address, found \"\(host)\"") }
    }

    func run() throws {
        var options = GatewayBenchOptions()
        options.command = load.commandLine
        options.plan = try load.plan()
        options.fsm = fsm
        options.envoy = load.envoy
        options.host = host
        options.outDirectory = outDir
        options.docs = load.writeDocs ? load.docs : nil
        options.configsOnly = writeConfigs
        options.extraNotes = load.note
        runGatewayBench(options)
    }
}

struct BenchUpstream: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upstream",
        abstract: "The fixed-body HTTP/1.1 origin the data-plane run starts; runs until killed (one listener per host, one event loop)."
    )

    @Option(help: ArgumentHelp("Addresses to listen on, comma-separated.", valueName: "H[,H2...]"))
    var host = "127.0.0.1"

    @Option(help: "Port (1-65535).")
    var port: Int

    @Option(help: "Bytes in every response body.")
    var bodyBytes = 1024

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535, found \(port)") }
        guard bodyBytes >= 0 else { throw ValidationError("--body-bytes must not be negative, found \(bodyBytes)") }
    }

    func run() throws {
        runUpstream(host: host, port: port, bodyBytes: bodyBytes)
    }
}

struct BenchLoad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "One load-generator run against any HTTP/1.1 target: open loop at --qps (CO-corrected) or a closed loop; prints requests, errors and percentiles."
    )

    @Option(help: "Target address.")
    var host = "127.0.0.1"

    @Option(help: "Target port (1-65535).")
    var port: Int

    @Option(help: "The Host header sent (with --tls also the SNI name, without a port).")
    var hostHeader = "localhost"

    @Option(help: "The request path.")
    var path = "/"

    @Flag(help: "Speak TLS to the target (no certificate verification, no session resumption).")
    var tls = false

    @Option(help: "Connections (at least 1).")
    var connections = 16

    @Option(help: "Open-loop rate, requests per second.")
    var qps: Double?

    @Flag(help: "Closed loop: each connection sends its next request when the previous answer ended.")
    var closed = false

    @Option(help: "Seconds to run.")
    var seconds = 5.0

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535, found \(port)") }
        guard connections >= 1 else { throw ValidationError("--connections must be at least 1, found \(connections)") }
        if let qps, !(qps > 0) { throw ValidationError("--qps must be a positive number, found \(qps)") }
        if closed && qps != nil { throw ValidationError("--qps and --closed exclude each other") }
        guard seconds > 0 else { throw ValidationError("--seconds must be a positive number, found \(seconds)") }
        guard path.hasPrefix("/") else { throw ValidationError("--path must start with /, found \"\(path)\"") }
    }

    func run() throws {
        let spec = LoadSpec(host: host, port: port, hostHeader: hostHeader, path: path, tls: tls ? try LoadGenerator.tlsContext() : nil, connections: connections,
                            pacing: closed ? .closedLoop : .openLoop(ratePerSecond: qps ?? 1000), seconds: seconds)
        runLoad(spec)
    }
}

struct BenchWebhook: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhook",
        abstract: "The injection webhook's latency per AdmissionReview over one kept-alive TLS connection, and the pure decision alone."
    )

    @Option(help: "AdmissionReviews to send (at least 1).")
    var requests = 2000

    func validate() throws {
        guard requests >= 1 else { throw ValidationError("--requests must be at least 1, found \(requests)") }
    }

    func run() throws {
        runWebhookBench(requests: requests)
    }
}

struct BenchKube: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kube",
        abstract: "fsm controller --kubernetes against the API-server double holding the synthetic SMI cluster: time to ready, memory per pod, endpoint changes."
    )

    @Option(help: "The fsm binary to run.")
    var fsm = ".build/release/fsm"

    @Option(help: "Services (more than 10).")
    var services = 5000

    @Option(help: "Pods per service (at least 1).")
    var podsPerService = 10

    @Option(help: "Endpoint-change rounds (at least 1).")
    var rounds = 20

    @Option(help: ArgumentHelp("Also write the report to FILE.", valueName: "FILE"))
    var out: String?

    func validate() throws {
        guard services > 10 else { throw ValidationError("--services must be more than 10, found \(services)") }
        guard podsPerService >= 1 else { throw ValidationError("--pods-per-service must be at least 1, found \(podsPerService)") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1, found \(rounds)") }
    }

    func run() throws {
        runKube(KubeBench(fsm: fsm, services: services, podsPerService: podsPerService, rounds: rounds, out: out))
    }
}

struct BenchCapture: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "The two-sidecar path under local mode, iptables capture and eBPF capture, side by side in one run (as root).",
        discussion: "Each mode gets its own pair of pods (network namespaces and cgroups); `bench load` runs inside the client pod at each concurrency."
    )

    @Flag(help: "Short run: concurrencies 4 and 32, 3 s each.")
    var quick = false

    @Option(help: "Connection counts, comma-separated.")
    var concurrencies = "2,8,32"

    @Option(help: "Requests per second per run (open loop).")
    var qps = 1000.0

    @Option(help: "Seconds per run.")
    var seconds = 10.0

    @Option(help: "The fsm binary to run the sidecars and the interceptor with.")
    var fsm = ".build/release/fsm"

    @Option(help: "Where the results table goes.")
    var out = "bench/capture.md"

    func validate() throws {
        let counts = concurrencies.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--concurrencies: give positive integers, comma-separated; found \"\(concurrencies)\"")
        }
        guard qps > 0 else { throw ValidationError("--qps must be positive") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
    }

    func run() throws {
        var options = CaptureBenchOptions()
        options.command = (["bench"] + CommandLine.arguments.dropFirst()).joined(separator: " ")
        options.concurrencies = concurrencies.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        (options.qps, options.seconds, options.fsm, options.out) = (qps, seconds, fsm, out)
        if quick { (options.concurrencies, options.seconds) = ([4, 32], 3) }
        runCaptureBench(options)
    }
}
