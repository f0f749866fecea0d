import ArgumentParser
import Foundation
import MeshModel
import MeshShell
import SimCore

/// `sim FILE... [--seed N] [--json PATH|-] [--html PATH] [--pcap PATH] [--check-determinism] [--quiet] [--dump-config NS/POD]`
///
/// The only part of the simulator that touches files and the process: it reads scenario files,
/// runs them with SimCore, prints the summary and writes the reports.
struct SimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run service-mesh scenarios in a deterministic virtual cluster.",
        discussion: """
        Exit status: 0 every expectation held; 1 an expectation failed; 2 a file or the arguments \
        are invalid; 3 --check-determinism found two runs with the same seed whose reports differ.

        With several files, --json and --html write one report per scenario: the scenario name is \
        inserted before the extension (report.json -> report-canary.json). `--json -` writes every \
        JSON report to standard output, one after the other, and moves the summaries to standard error.
        Latencies are modelled virtual time, not wall-clock measurements.

        --real runs the scenarios for real instead (sidecars and apps on loopback, wall-clock time, \
        next to the simulated run): it execs the sim-real executable built beside sim with the same \
        arguments (`swift build --product sim-real`).
        """
    )

    @Argument(help: "Scenario files (YAML).")
    var files: [String] = []

    @Option(help: "Seed for every scenario, overriding the files' own `seed:`.")
    var seed: UInt64?

    @Option(help: ArgumentHelp("Write the JSON report to PATH, or to standard output with -.", valueName: "PATH|-"))
    var json: String?

    @Option(help: ArgumentHelp("Write a self-contained HTML report to PATH.", valueName: "PATH"))
    var html: String?

    @Option(help: ArgumentHelp("Write the simulated packets to PATH (not supported yet).", valueName: "PATH"))
    var pcap: String?

    @Flag(help: "Run each scenario twice with the same seed and fail (exit 3) if the JSON reports differ.")
    var checkDeterminism = false

    @Flag(help: "Do not print the summary.")
    var quiet = false

    @Option(help: ArgumentHelp("After the run, print the sidecar configuration of one pod (namespace/pod-name) and exit.", valueName: "NS/POD"))
    var dumpConfig: String?

    @Option(help: ArgumentHelp(
        "Run each scenario once per seed, each seed in its own sim process: N, A..B, or a comma-separated list (1..100,200). Prints the seeds that passed and the failing expectations of the others; --json writes one merged report.",
        valueName: "SEEDS"))
    var seeds: String?

    @Option(help: "With --seeds: how many seeds run at once (default: the number of CPU cores).")
    var jobs: Int?

    func validate() throws {
        if files.isEmpty { throw ValidationError("expected at least one scenario file") }
        if seed.map({ $0 > UInt64(Int64.max) }) == true { throw ValidationError("--seed must be at most \(Int64.max)") }
        if let dumpConfig, !dumpConfig.contains("/") { throw ValidationError("--dump-config expects namespace/pod-name, found \"\(dumpConfig)\"") }
    }

    /// Runs everything and returns the exit status.
    func execute() -> Int32 {
        if pcap != nil {
            Console.error("sim: --pcap is not supported yet")
            return ExitStatus.invalid
        }
        if let problem = swarmProblem() {
            Console.error("sim: \(problem)")
            return ExitStatus.invalid
        }

        // Read and parse every file, and check every output path, before running any: a typo or
        // an unwritable report path fails at once, not after the runs.
        var scenarios: [Scenario] = []
        for file in files {
            do {
                scenarios.append(try Self.readScenario(file))
            } catch {
                Console.error("\(error)")
                return ExitStatus.invalid
            }
        }
        let outputs = OutputNames(scenarios: scenarios)
        do {
            try checkOutputs(outputs, count: scenarios.count)
        } catch {
            Console.error("sim: \(error)")
            return ExitStatus.invalid
        }

        if let seeds { return executeSwarm(scenarios, outputs: outputs, seeds: seeds) }

        let summaryToStderr = json == "-"
        var anyFailed = false
        var anyStopped = false
        var nondeterministic = false

        for (index, scenario) in scenarios.enumerated() {
            var simulation = Simulation(scenario: scenario, seed: seed)
            let result = simulation.run()
            let report = Report(result: result)
            let jsonText = report.jsonText()

            if let dumpConfig {
                guard let config = simulation.proxyConfigJSON(pod: dumpConfig) else {
                    let pods = simulation.meshedPods
                    Console.error("\(scenario.file): no meshed pod \"\(dumpConfig)\" at the end of the run; "
                        + (pods.isEmpty ? "the scenario has no meshed pods" : "known pods: " + pods.joined(separator: ", ")))
                    return ExitStatus.invalid
                }
                Console.out(config.hasSuffix("\n") ? config : config + "\n")
                continue
            }

            if !quiet {
                let summary = (index > 0 ? "\n" : "") + report.text()
                if summaryToStderr { Console.error(summary, newline: false) } else { Console.out(summary) }
            }

            if checkDeterminism {
                var again = Simulation(scenario: scenario, seed: seed)
                let second = Report(result: again.run()).jsonText()
                if second != jsonText {
                    nondeterministic = true
                    Console.error("\(scenario.file): two runs with seed \(result.seed) gave different reports (first difference at line \(Self.firstDifferentLine(jsonText, second)) of the JSON report)")
                } else if !quiet {
                    let note = "determinism: a second run with seed \(result.seed) gave a byte-identical report\n"
                    if summaryToStderr { Console.error(note, newline: false) } else { Console.out(note) }
                }
            }

            do {
                if let json {
                    if json == "-" { Console.out(jsonText) } else { try OutputFile.write(Array(jsonText.utf8), to: outputs.path(json, for: index), option: "--json") }
                }
                if let html {
                    try OutputFile.write(Array(report.html().utf8), to: outputs.path(html, for: index), option: "--html")
                }
            } catch {
                Console.error("sim: \(error)")
                return ExitStatus.invalid
            }
            if let stopped = result.stopped {
                // A bound of the simulator, not a verdict on the mesh: like any other bound, exit 2.
                Console.error("\(scenario.file): \(stopped)")
                anyStopped = true
            }
            if !report.passed { anyFailed = true }
        }

        if nondeterministic { return ExitStatus.nondeterministic }
        if anyStopped { return ExitStatus.invalid }
        return anyFailed ? ExitStatus.expectationFailed : ExitStatus.passed
    }

    /// A scenario file read and parsed: a `FileProblem` (`scenarios: is a directory; ...`) or a
    /// `ManifestError` (`file:line:column: path: message`).
    static func readScenario(_ file: String) throws -> Scenario {
        let bytes = try InputFile.read(file, limit: ManifestLimits.maxFileBytes, directoryHint: "give scenario files (e.g. \(file.hasSuffix("/") ? file : file + "/")*.yaml)",
                                       tooLarge: SourceText.tooLarge)
        return try ScenarioParser.parse(bytes: bytes, file: file)
    }

    /// Every report path the run will write can be written.
    private func checkOutputs(_ outputs: OutputNames, count: Int) throws(FileProblem) {
        for index in 0..<count {
            if let json, json != "-" { try OutputFile.check(outputs.path(json, for: index), option: "--json", example: "report.json") }
            if let html { try OutputFile.check(outputs.path(html, for: index), option: "--html", example: "report.html") }
        }
    }

    static func firstDifferentLine(_ a: String, _ b: String) -> Int {
        let left = a.split(separator: "\n", omittingEmptySubsequences: false)
        let right = b.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, (x, y)) in zip(left, right).enumerated() where x != y { return index + 1 }
        return min(left.count, right.count) + 1
    }
}

enum ExitStatus {
    static let passed: Int32 = 0
    static let expectationFailed: Int32 = 1
    static let invalid: Int32 = 2
    static let nondeterministic: Int32 = 3
}

/// Report paths: as given for one scenario; with several, `-<scenario name>` before the extension
/// (a repeated name gets `-2`, `-3`, ... so no report overwrites another).
struct OutputNames {
    private var suffixes: [String] = []

    init(scenarios: [Scenario]) {
        guard scenarios.count > 1 else {
            suffixes = scenarios.map { _ in "" }
            return
        }
        var used: [String: Int] = [:]
        for scenario in scenarios {
            let safe = String(scenario.name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
            let seen = used[safe, default: 0] + 1
            used[safe] = seen
            suffixes.append("-" + safe + (seen > 1 ? "-\(seen)" : ""))
        }
    }

    func path(_ base: String, for index: Int) -> String {
        let suffix = suffixes[index]
        guard !suffix.isEmpty else { return base }
        let fileStart = base.lastIndex(of: "/").map { base.index(after: $0) } ?? base.startIndex
        if let dot = base[fileStart...].lastIndex(of: "."), dot != fileStart {
            return String(base[..<dot]) + suffix + String(base[dot...])
        }
        return base + suffix
    }
}

enum Console {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func error(_ text: String, newline: Bool = true) {
        FileHandle.standardError.write(Data((newline ? text + "\n" : text).utf8))
    }
}

@main
enum SimMain {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.contains("--real") { exit(RealModeLauncher.exec(arguments)) }
        let command: SimCommand
        do {
            command = try SimCommand.parse(arguments)
        } catch {
            // --help is an "error" with status 0; every real usage error exits 2 (ArgumentParser's
            // own default would be 64).
            let message = SimCommand.fullMessage(for: error)
            if SimCommand.exitCode(for: error) == .success {
                Console.out(message + "\n")
                exit(0)
            }
            Console.error(message)
            exit(ExitStatus.invalid)
        }
        exit(command.execute())
    }
}
