import ArgumentParser
import Foundation
import Logging
import MeshRealMode
import MeshModel
import MeshRuntime
import MeshShell
import SimCore

/// `sim-real FILE... [--seed N] [--json PATH|-] [--quiet] [--subnet N] [--sidecar-logs LEVEL]`
///
/// What `sim --real` execs: runs each scenario for real (sidecars and apps on loopback, wall-clock
/// time) and in the simulator, and prints both side by side. Exit status as `sim`'s: 0 every
/// expectation held in both runs, 1 one failed, 2 invalid file or arguments, or a scenario feature
/// the real mode cannot do yet (named).
struct SimRealCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim-real",
        abstract: "Run service-mesh scenarios with real sidecars on loopback, next to the simulator.",
        discussion: """
        Exit status: 0 every expectation held in the real and the simulated run; 1 an expectation \
        failed in either; 2 a file or the arguments are invalid, or the scenario uses a feature the \
        real mode cannot run yet (the message names it).

        Pods get 127.82.<subnet>.<n> (a subnet held by one run at a time, through a lock file in \
        /tmp/fsm-test-subnets); each meshed pod's sidecar listens on 15001 (outbound), 15003 \
        (inbound), 15010 (Prometheus) and 15000 (admin) there. Latencies in the real column are wall-clock measurements.
        """,
        version: MeshVersion.current
    )

    @Argument(help: "Scenario files (YAML).")
    var files: [String] = []

    @Option(help: "Seed for every scenario, overriding the files' own `seed:` (app models and the simulated run).")
    var seed: UInt64?

    @Option(help: ArgumentHelp("Write the side-by-side JSON report to PATH, or to standard output with -.", valueName: "PATH|-"))
    var json: String?

    @Option(help: ArgumentHelp("Not available in real mode.", valueName: "PATH"))
    var html: String?

    @Option(help: ArgumentHelp("Not available in real mode.", valueName: "PATH"))
    var pcap: String?

    @Flag(help: "Not available in real mode (a real run is not deterministic).")
    var checkDeterminism = false

    @Flag(help: "Do not print the summary.")
    var quiet = false

    @Option(help: ArgumentHelp("Not available in real mode.", valueName: "NS/POD"))
    var dumpConfig: String?

    @Flag(help: "Accepted for `sim --real`; real mode is what this command does.")
    var real = false

    @Option(help: "Third octet of the pods' loopback addresses 127.82.<subnet>.<n> (1-250); by default the first one no other run on this machine holds.")
    var subnet: Int?

    @Option(help: ArgumentHelp("Log level of the sidecars (trace ... critical), to standard error.", valueName: "LEVEL"))
    var sidecarLogs: String = "critical"

    @Flag(help: "Sidecars talk plain HTTP with the source identity in a header instead of mTLS (the default: a CA of the run's own issues each pod a certificate).")
    var plaintextPeers = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("expected at least one scenario file") }
        if let subnet, !(1...250).contains(subnet) { throw ValidationError("--subnet must be in 1...250") }
        if LogLevelName.level(sidecarLogs) == nil { throw ValidationError(LogLevelName.problem(option: "--sidecar-logs", value: sidecarLogs)) }
        if html != nil { throw ValidationError("--html is not available in real mode") }
        if pcap != nil { throw ValidationError("--pcap is not available in real mode") }
        if checkDeterminism { throw ValidationError("--check-determinism is not available in real mode (a real run is not deterministic)") }
        if dumpConfig != nil { throw ValidationError("--dump-config is not available in real mode (use `sim --dump-config`)") }
    }

    func execute() async -> Int32 {
        var scenarios: [Scenario] = []
        for file in files {
            do {
                let bytes = try InputFile.read(file, limit: ManifestLimits.maxFileBytes, directoryHint: "give scenario files (e.g. \(file.hasSuffix("/") ? file : file + "/")*.yaml)",
                                               tooLarge: SourceText.tooLarge)
                scenarios.append(try ScenarioParser.parse(bytes: bytes, file: file))
            } catch {
                Console.error("\(error)")
                return 2
            }
        }
        // Report paths are checked before the (long) real runs.
        if let json, json != "-" {
            do {
                for scenario in scenarios {
                    try OutputFile.check(scenarios.count > 1 ? Self.path(json, inserting: scenario.name) : json, option: "--json", example: "report.json")
                }
            } catch {
                Console.error("sim-real: \(error)")
                return 2
            }
        }
        let summaryToStderr = json == "-"
        var anyFailed = false
        for (index, scenario) in scenarios.enumerated() {
            let report: RealModeReport
            do {
                report = try await RealModeRunner.run(scenario, options: RealModeOptions(seed: seed, subnet: subnet, sidecarLogLevel: LogLevelName.level(sidecarLogs) ?? .critical,
                                                                                mutualTLS: !plaintextPeers))
            } catch {
                Console.error("\(scenario.file): \(error)")
                return 2
            }
            if !quiet {
                let summary = (index > 0 ? "\n" : "") + report.text()
                if summaryToStderr { Console.error(summary, newline: false) } else { Console.out(summary) }
            }
            if let json {
                if json == "-" {
                    Console.out(report.jsonText())
                } else {
                    let path = scenarios.count > 1 ? Self.path(json, inserting: scenario.name) : json
                    do {
                        try OutputFile.write(Array(report.jsonText().utf8), to: path, option: "--json")
                    } catch {
                        Console.error("sim-real: \(error)")
                        return 2
                    }
                }
            }
            if !report.passed { anyFailed = true }
        }
        return anyFailed ? 1 : 0
    }

    /// `report.json` → `report-canary.json` (several scenarios, one report each).
    static func path(_ base: String, inserting name: String) -> String {
        let safe = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        let fileStart = base.lastIndex(of: "/").map { base.index(after: $0) } ?? base.startIndex
        if let dot = base[fileStart...].lastIndex(of: "."), dot != fileStart {
            return String(base[..<dot]) + "-" + safe + String(base[dot...])
        }
        return base + "-" + safe
    }
}

enum Console {
    static func out(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
    static func error(_ text: String, newline: Bool = true) { FileHandle.standardError.write(Data((newline ? text + "\n" : text).utf8)) }
}

@main
enum SimRealMain {
    static func main() async {
        let command: SimRealCommand
        do {
            command = try SimRealCommand.parse(Array(CommandLine.arguments.dropFirst()))
        } catch {
            let message = SimRealCommand.fullMessage(for: error)
            if SimRealCommand.exitCode(for: error) == .success {
                Console.out(message + "\n")
                exit(0)
            }
            Console.error(message)
            exit(2)
        }
        exit(await command.execute())
    }
}
