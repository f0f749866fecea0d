import Foundation
import MeshShell

/// Options of `bench control-plane` (BenchCommand.swift parses them).
struct Options {
    var services: Int?
    var podsPerService = 10
    var modes = ClusterGenerator.Mode.allCases
    var skipLargest = false
    var renderEachPod = false
    /// Bytes of distinct configs rendered at most (time extrapolated beyond); nil: all.
    var renderBudget: Int? = 64 << 20
    var verify = false
    var digest = false
    var endpointRounds = 5
    var out: String?
    /// Child mode: print one tab-separated result row instead of the table.
    var row = false
}

extension Options {
    /// Issue 11's goal counts the rendering of every distinct config of 1,000 permissive services,
    /// so that case renders them all (about 1.4 GB of JSON, under a second) instead of
    /// extrapolating from the budget; the others keep the budget.
    func forCase(_ mode: ClusterGenerator.Mode, services: Int) -> Options {
        guard mode == .permissive, services == 1000 else { return self }
        var options = self
        options.renderBudget = nil
        return options
    }
}

/// VmHWM (peak resident set) of this process, in bytes.
func peakRSS() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kilobytes = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) } ?? 0
        return kilobytes * 1024
    }
    return 0
}

func log(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Runs one case in a child process and reads its result row.
func runChild(services: Int, podsPerService: Int, mode: ClusterGenerator.Mode, options: Options) -> ControlPlaneResult? {
    var arguments = ["control-plane", "--row", "--services", String(services), "--pods-per-service", String(podsPerService), "--mode", mode.rawValue]
    if options.renderEachPod { arguments.append("--render-each-pod") }
    if let budget = options.renderBudget { arguments += ["--render-budget-mib", String(budget >> 20)] } else { arguments.append("--render-all") }
    if options.verify { arguments.append("--verify") }
    arguments += ["--endpoint-rounds", String(options.endpointRounds)]
    let completion: SpawnedProcess.Completion
    do {
        completion = try SpawnedProcess.run(ProcessLaunch("/proc/self/exe", arguments, standardInput: .inherit, standardOutput: .pipe, standardError: .inherit))
    } catch {
        log("could not start a child: \(error)")
        return nil
    }
    guard completion.termination.succeeded else {
        log("case \(mode.rawValue) \(services) services failed with \(completion.termination)")
        return nil
    }
    return completion.outputText.split(separator: "\n").last.flatMap(ControlPlaneResult.init(row:))
}

func table(_ results: [ControlPlaneResult]) -> String {
    var lines = ["| " + ControlPlaneResult.header.joined(separator: " | ") + " |"]
    lines.append("|" + String(repeating: "---|", count: ControlPlaneResult.header.count))
    for result in results { lines.append("| " + result.cells.joined(separator: " | ") + " |") }
    return lines.joined(separator: "\n") + "\n"
}

/// Issue 4's control-plane targets, for the cases this run has: full generation of the SMI
/// cluster (the shape) under 2 s at 5,000 services, and an endpoint change under 10 ms;
/// and issue 11's: full generation of 1,000 permissive services, rendering included, under 2 s.
func targets(_ results: [ControlPlaneResult]) -> String {
    var lines: [String] = []
    if let largest = results.first(where: { $0.mode == .smi && $0.services == 5000 }) {
        let met = largest.fullSeconds < 2 ? "met" : "**missed**"
        lines.append("| full generation, 5,000 SMI services < 2 s | \(fixed(largest.fullSeconds, 3)) s | \(met) |")
    }
    if let permissive = results.first(where: { $0.mode == .permissive && $0.services == 1000 }) {
        let met = permissive.fullSeconds < 2 && !permissive.renderExtrapolated ? "met" : "**missed**"
        let value = (permissive.renderExtrapolated ? "~" : "") + fixed(permissive.fullSeconds, 3)
        lines.append("| full generation with rendering, 1,000 permissive services < 2 s (issue 11) | \(value) s | \(met) |")
    }
    for result in results {
        let met = result.endpointChangeMs < 10 ? "met" : "**missed**"
        lines.append("| endpoint change < 10 ms, \(result.mode.rawValue) \(result.services) services | \(fixed(result.endpointChangeMs, 2)) ms | \(met) |")
    }
    guard !lines.isEmpty else { return "" }
    return "\nTargets of issues 4 and 11:\n\n| target | this run | |\n|---|---|---|\n" + lines.joined(separator: "\n") + "\n"
}

/// `bench control-plane ...`: runs the control-plane benchmark and exits.
func runControlPlane(_ options: Options) -> Never {
    var results: [ControlPlaneResult] = []
    if let services = options.services, options.row || options.modes.count == 1 {
        let generator = ClusterGenerator(services: services, podsPerService: options.podsPerService, mode: options.modes[0])
        let result = ControlPlaneBench.run(generator, renderEachPod: options.renderEachPod, renderBudget: options.renderBudget, endpointRounds: options.endpointRounds, verify: options.verify, digest: options.digest) {
            log("[\(generator.mode.rawValue) \(services)] \($0)")
        }
        if options.row {
            print(result.row)
            exit(0)
        }
        results.append(result)
    } else {
        let sizes = options.services.map { [$0] } ?? (options.skipLargest ? [100, 1000] : [100, 1000, 5000])
        for services in sizes {
            for mode in options.modes {
                log("case: \(mode.rawValue), \(services) services x \(options.podsPerService) pods")
                if let result = runChild(services: services, podsPerService: options.podsPerService, mode: mode, options: options.forCase(mode, services: services)) {
                    results.append(result)
                    log(table([result]).split(separator: "\n").last.map(String.init) ?? "")
                }
            }
        }
    }
    let output = table(results) + targets(results)
    print(output, terminator: "")
    if let out = options.out {
        do { try output.write(toFile: out, atomically: true, encoding: .utf8) } catch { DataPlaneLog.fail("cannot write \(out): \(error)") }
    }
    exit(0)
}
