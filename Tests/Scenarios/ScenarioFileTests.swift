import Foundation
import SimCore
import Testing

/// `<repository>/scenarios`, found from this file's path (`<repository>/Tests/Scenarios/...`).
private let scenariosFolder = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("scenarios")

/// Every `*.yaml` in the scenarios folder, by file name.
private let scenarioFiles: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: scenariosFolder.path)) ?? []
    return names.filter { $0.hasSuffix(".yaml") }.sorted()
}()

private func load(_ name: String) throws -> Scenario {
    let path = scenariosFolder.appendingPathComponent(name).path
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return try ScenarioParser.parse(text, file: "scenarios/\(name)")
}

private func run(_ scenario: Scenario, seed: UInt64? = nil) -> Report {
    var simulation = Simulation(scenario: scenario, seed: seed)
    return Report(result: simulation.run())
}

/// Runs every shipped scenario: its expectations hold, the same seed replays byte for byte, and
/// another seed still satisfies the expectations (they must not depend on one lucky draw).
@Suite struct ScenarioFileTests {
    @Test func theScenariosFolderIsFound() {
        #expect(scenarioFiles.contains("echo.yaml"), "no scenarios found in \(scenariosFolder.path)")
    }

    @Test(arguments: scenarioFiles)
    func expectationsHold(_ file: String) throws {
        let report = run(try load(file))
        for outcome in report.outcomes where !outcome.passed {
            Issue.record("\(file): FAIL \(outcome.expectation.text) (observed: \(outcome.observed))")
        }
        let passed = report.passed
        #expect(passed)
    }

    @Test(arguments: scenarioFiles)
    func sameSeedGivesIdenticalReports(_ file: String) throws {
        let scenario = try load(file)
        let first = run(scenario).jsonText()
        let second = run(scenario).jsonText()
        let identical = first == second
        #expect(identical, "two runs of \(file) with seed \(scenario.seed) gave different JSON reports")
    }

    @Test(arguments: scenarioFiles)
    func anotherSeedStillPasses(_ file: String) throws {
        let scenario = try load(file)
        let report = run(scenario, seed: scenario.seed + 1)
        #expect(report.result.seed == scenario.seed + 1)
        for outcome in report.outcomes where !outcome.passed {
            Issue.record("\(file) with seed \(scenario.seed + 1): FAIL \(outcome.expectation.text) (observed: \(outcome.observed))")
        }
        let passed = report.passed
        #expect(passed)
    }
}
