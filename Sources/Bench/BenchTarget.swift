import AsyncHTTPClient
import Foundation
import MeshBenchKit
import MeshModel
import NIOCore
import NIOHTTP1
import NIOSSL

/// One path under measurement: where the load generator connects, the Host and path it asks
/// for, whether it speaks TLS, and the proxy processes on the path (client side first).
struct BenchTarget<Mode: BenchMode> {
    var mode: Mode
    var port: Int
    var host = "127.0.0.1"
    var hostHeader = BookstoreConfigs.hostHeader
    var path = "/"
    var tls: NIOSSLContext?
    var proxies: [ChildProcess]
}

/// The data plane's paths.
typealias ModeSetup = BenchTarget<DataPlaneMode>

/// The runs `bench dataplane` and `bench gateway` make against a target: open loop at a rate
/// (CO-corrected), closed loop, each with the CPU and peak RSS of the path's proxies from /proc.
struct ProxyMeasurement {
    let group: any EventLoopGroup
    let plan: LoadPlan

    func load<Mode>(_ target: BenchTarget<Mode>, connections: Int, pacing: LoadSpec.Pacing, seconds: Double) async throws -> LoadResult {
        let spec = LoadSpec(host: target.host, port: target.port, hostHeader: target.hostHeader, path: target.path, tls: target.tls,
                            connections: connections, pacing: pacing, seconds: seconds)
        return try await LoadGenerator.run(spec, group: group)
    }

    /// Whether the target answers 2xx within 30 s (false at once if one of its proxies exited).
    func waitUntilServing<Mode>(_ target: BenchTarget<Mode>) async throws -> Bool {
        for _ in 0..<60 {
            if target.proxies.contains(where: { !$0.isRunning }) { return false }
            if let result = try? await load(target, connections: 1, pacing: .closedLoop, seconds: 0.2), result.requests > 0, result.errors == 0 {
                return true
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        return false
    }

    /// Runs `work` and reports what each proxy of the path spent meanwhile (CPU, peak RSS).
    func measured<Mode>(_ target: BenchTarget<Mode>, during work: () async throws -> LoadResult) async rethrows -> (LoadResult, [ProxyUsageSample]) {
        for proxy in target.proxies { proxy.resetPeak() }
        var stallsBefore: [LoopStallReading?] = []
        for proxy in target.proxies { stallsBefore.append(await Self.loopStalls(proxy)) }
        let before = target.proxies.map { $0.cpuSeconds() ?? 0 }
        let result = try await work()
        var samples: [ProxyUsageSample] = []
        for (index, proxy) in target.proxies.enumerated() {
            var sample = ProxyUsageSample(side: index == 0 ? "client" : "server", cpuSeconds: max(0, (proxy.cpuSeconds() ?? 0) - before[index]), peakRSSKiB: proxy.peakRSSKiB() ?? 0)
            if let earlier = stallsBefore[index], let now = await Self.loopStalls(proxy) { sample.stalls = now.since(earlier).summary }
            samples.append(sample)
        }
        return (result, samples)
    }

    /// Our sidecar's event-loop stall histogram, from its admin `/stats`; nil for a peer proxy or
    /// when the page does not answer.
    static func loopStalls(_ proxy: ChildProcess) async -> LoopStallReading? {
        guard let admin = proxy.admin else { return nil }
        guard let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: admin + "/stats"), timeout: .seconds(5)), response.status == .ok,
              let body = try? await response.body.collect(upTo: 1 << 20) else { return nil }
        return LoopStallReading(statsText: String(buffer: body))
    }

    func openLoopRun<Mode>(_ target: BenchTarget<Mode>, connections: Int) async throws -> ModeLatencyRun<Mode> {
        let startTime = DataPlaneBench.timestamp()
        let (result, samples) = try await measured(target) {
            try await load(target, connections: connections, pacing: .openLoop(ratePerSecond: plan.qps), seconds: plan.seconds)
        }
        let r = result.recorder
        let run = ModeLatencyRun(mode: target.mode, connections: connections, requestedQPS: plan.qps, actualQPS: result.requestsPerSecond, durationSeconds: result.seconds,
                                 requests: result.requests, errors: result.errors, lateSends: result.lateSends, p50: r.percentile(50), p90: r.percentile(90),
                                 p99: r.percentile(99), p999: r.percentile(99.9), startTime: startTime, proxies: samples)
        DataPlaneLog.info("\(target.mode.rawValue) c=\(connections): \(Int(run.actualQPS)) req/s p50 \(ReadableDuration.text(microseconds: Double(run.p50))) p99 \(ReadableDuration.text(microseconds: Double(run.p99))) p999 \(ReadableDuration.text(microseconds: Double(run.p999))) errors \(run.errors)")
        return run
    }

    func closedLoopRun<Mode>(_ target: BenchTarget<Mode>) async throws -> ModeThroughputRun<Mode> {
        let (result, samples) = try await measured(target) {
            try await load(target, connections: plan.closedConnections, pacing: .closedLoop, seconds: plan.closedSeconds)
        }
        let run = ModeThroughputRun(mode: target.mode, tool: "bench", connections: plan.closedConnections, durationSeconds: result.seconds, requestsPerSecond: result.requestsPerSecond,
                                    errors: result.errors, p50: result.recorder.percentile(50), p99: result.recorder.percentile(99),
                                    proxyCPUSeconds: samples.isEmpty ? nil : samples.reduce(0) { $0 + $1.cpuSeconds }, peakRSSKiB: samples.map(\.peakRSSKiB).max())
        DataPlaneLog.info("closed loop \(target.mode.rawValue) c=\(run.connections): \(Int(run.requestsPerSecond)) req/s, proxy cores \(run.proxyCores.map { String(format: "%.2f", $0) } ?? "–")")
        return run
    }
}

/// The processes one benchmark started and the files it wrote, in its temporary directory.
final class BenchWorkspace: @unchecked Sendable {
    let directory: URL
    private var children: [ChildProcess] = []

    init(prefix: String) {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(getpid())")
    }

    func create() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func start(_ name: String, _ executable: String, _ arguments: [String]) throws -> ChildProcess {
        let child = try ChildProcess(name: name, executable: executable, arguments: arguments, logDirectory: directory)
        children.append(child)
        return child
    }

    func write(_ text: String, _ name: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Replaces (or appends) the section `markdown` heads in the document at `docs`.
    static func writeSection(_ markdown: String, into docs: String) throws {
        let existing = (try? String(contentsOfFile: docs, encoding: .utf8)) ?? "# Benchmarks\n"
        try DataPlaneResults.splice(section: markdown, into: existing).write(toFile: docs, atomically: true, encoding: .utf8)
    }

    /// Stops every child, last started first.
    func stopAll() {
        for child in children.reversed() { child.stop() }
        children.removeAll()
    }
}
