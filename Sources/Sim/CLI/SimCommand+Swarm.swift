import Foundation
import MeshShell
import SimCore

/// `sim FILE... --seeds SEEDS [--jobs N]`: each scenario once per seed, each seed in its own `sim`
/// process (`SeedSwarm`), the reports merged (`SwarmReport`).
extension SimCommand {
    static let maximumJobs = 256

    /// What is wrong with the swarm options, in one line; nil when they are usable.
    func swarmProblem() -> String? {
        guard let seeds else { return jobs == nil ? nil : "--jobs needs --seeds (it is how many seeds run at once)" }
        if seed != nil { return "give --seed (one run) or --seeds (one run per seed), not both" }
        if html != nil { return "--html writes one run's page: run the seed you want with --seed N --html PATH" }
        if dumpConfig != nil { return "--dump-config prints one run's config: use it with --seed N, not --seeds" }
        if let jobs, !(1...Self.maximumJobs).contains(jobs) { return "--jobs must be from 1 to \(Self.maximumJobs), found \(jobs)" }
        do throws(SeedSwarm.Problem) {
            _ = try SeedList.parse(seeds)
        } catch {
            return error.description
        }
        return nil
    }

    /// Runs every scenario's seeds and returns the exit status: the worst of the scenarios' (3 a
    /// seed was not deterministic, 2 a seed stopped or could not run, 1 an expectation failed).
    func executeSwarm(_ scenarios: [Scenario], outputs: OutputNames, seeds text: String) -> Int32 {
        let seeds: [UInt64]
        do throws(SeedSwarm.Problem) {
            seeds = try SeedList.parse(text)
        } catch {
            Console.error(error.description)
            return ExitStatus.invalid
        }
        let executable = RealModeLauncher.currentExecutablePath()
        let summaryToStderr = json == "-"
        var status = ExitStatus.passed
        for (index, scenario) in scenarios.enumerated() {
            let swarm = SeedSwarm(executable: executable, file: scenario.file, seeds: seeds,
                                  jobs: jobs ?? max(1, ProcessInfo.processInfo.activeProcessorCount), checkDeterminism: checkDeterminism)
            let report: SwarmReport
            do throws(SeedSwarm.Problem) {
                report = SwarmReport(scenario: scenario.name, runs: try swarm.run())
            } catch {
                Console.error(error.description)
                return ExitStatus.invalid
            }
            if !quiet {
                let summary = (index > 0 ? "\n" : "") + report.text()
                if summaryToStderr { Console.error(summary, newline: false) } else { Console.out(summary) }
            }
            do {
                if let json {
                    let text = report.jsonText()
                    if json == "-" { Console.out(text) } else { try OutputFile.write(Array(text.utf8), to: outputs.path(json, for: index), option: "--json") }
                }
            } catch {
                Console.error("sim: \(error)")
                return ExitStatus.invalid
            }
            status = max(status, report.exitStatus)
        }
        return status
    }
}
