import Foundation

/// `bench control-plane [--services N --pods-per-service M] [--mode smi|permissive] [--skip-5000]
///                      [--render-each-pod] [--verify] [--out FILE]`
///
/// Without `--services` it runs the default matrix (100, 1000, 5000 services with 10 pods each, SMI
/// and permissive), each case in a child process of its own so that its peak RSS is its own.
let usage = """
usage: bench control-plane [--services N] [--pods-per-service M] [--mode smi|permissive]
                           [--skip-5000] [--render-each-pod] [--render-budget-mib B | --render-all]
                           [--endpoint-rounds R] [--verify] [--digest] [--out FILE]
Full generation = apply everything + config(for:) every meshed pod + render each distinct config
(until B = 64 MiB are rendered, default; the render time is scaled up when more remain, marked ~).
Endpoint change: median of R = 5 rounds, each moving one pod to a new IP.
--digest (one case): print digests of every pod's config version and of the distinct configs' JSON
(to compare the output of two builds).
"""

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

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n" + usage + "\n").utf8))
    exit(2)
}

func parse(_ arguments: [String]) -> Options {
    guard arguments.first == "control-plane" else { fail("unknown or missing mode") }
    var options = Options()
    var rest = arguments.dropFirst()
    func value(_ flag: String) -> String {
        guard let next = rest.popFirst() else { fail("\(flag) needs a value") }
        return next
    }
    func positive(_ flag: String) -> Int {
        let text = value(flag)
        guard let number = Int(text), number > 0 else { fail("\(flag): '\(text)' is not a positive integer") }
        return number
    }
    while let flag = rest.popFirst() {
        switch flag {
        case "--services": options.services = positive(flag)
        case "--pods-per-service": options.podsPerService = positive(flag)
        case "--mode":
            let text = value(flag)
            guard let mode = ClusterGenerator.Mode(rawValue: text) else { fail("--mode: '\(text)' is neither smi nor permissive") }
            options.modes = [mode]
        case "--skip-5000": options.skipLargest = true
        case "--render-each-pod": options.renderEachPod = true
        case "--render-budget-mib": options.renderBudget = positive(flag) << 20
        case "--render-all": options.renderBudget = nil
        case "--verify": options.verify = true
        case "--digest": options.digest = true
        case "--endpoint-rounds": options.endpointRounds = positive(flag)
        case "--out": options.out = value(flag)
        case "--row": options.row = true
        case "-h", "--help":
            print(usage)
            exit(0)
        default: fail("unknown option \(flag)")
        }
    }
    if let services = options.services, services < 10 { fail("--services must be at least 10") }
    return options
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
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
    var arguments = ["control-plane", "--row", "--services", String(services), "--pods-per-service", String(podsPerService), "--mode", mode.rawValue]
    if options.renderEachPod { arguments.append("--render-each-pod") }
    if let budget = options.renderBudget { arguments += ["--render-budget-mib", String(budget >> 20)] } else { arguments.append("--render-all") }
    if options.verify { arguments.append("--verify") }
    arguments += ["--endpoint-rounds", String(options.endpointRounds)]
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    do { try process.run() } catch {
        log("could not start a child: \(error)")
        return nil
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        log("case \(mode.rawValue) \(services) services failed with status \(process.terminationStatus)")
        return nil
    }
    let text = String(decoding: data, as: UTF8.self)
    return text.split(separator: "\n").last.flatMap(ControlPlaneResult.init(row:))
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
func runControlPlane(_ arguments: [String]) -> Never {
    let options = parse(arguments)
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
                if let result = runChild(services: services, podsPerService: options.podsPerService, mode: mode, options: options) {
                    results.append(result)
                    log(table([result]).split(separator: "\n").last.map(String.init) ?? "")
                }
            }
        }
    }
    let output = table(results) + targets(results)
    print(output, terminator: "")
    if let out = options.out {
        do { try output.write(toFile: out, atomically: true, encoding: .utf8) } catch { fail("cannot write \(out): \(error)") }
    }
    exit(0)
}
