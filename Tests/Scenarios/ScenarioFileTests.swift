import Foundation
import SimCore
import Testing

/// `<repository>/scenarios`, found from this file's path (`<repository>/Tests/Scenarios/...`).
private let scenariosFolder = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("scenarios")

/// Every `*.yaml` in the scenarios folder, by file name.
let scenarioFiles: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: scenariosFolder.path)) ?? []
    return names.filter { $0.hasSuffix(".yaml") }.sorted()
}()

func load(_ name: String) throws -> Scenario {
    let path = scenariosFolder.appendingPathComponent(name).path
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return try ScenarioParser.parse(text, file: "scenarios/\(name)")
}

func run(_ scenario: Scenario, seed: UInt64? = nil) -> Report {
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

/// The app counter expectation against a shipped demo scenario.
@Suite struct AppCounterScenarioTests {
    @Test func bookbuyerCountersAreChecked() throws {
        var scenario = try load("bookstore-permissive.yaml")
        scenario.expectations = [
            SimCore.Expectation(check: .appCounter(app: "bookbuyer", name: "booksBought", comparison: .greaterThan, value: 5), text: "bought"),
            SimCore.Expectation(check: .appCounter(app: "bookwarehouse", name: "restocked", comparison: .greaterThan, value: 0), text: "restocked"),
            SimCore.Expectation(check: .appCounter(app: "bookbuyer", name: "booksBought", comparison: .greaterThan, value: 1_000_000), text: "too many"),
        ]
        let report = run(scenario)
        #expect(report.outcomes.map(\.passed) == [true, true, false])
        let bought = try #require(report.result.apps.first { $0.deployment == "bookbuyer" }?.counters.first { $0.name == "booksBought" })
        #expect(report.outcomes[0].observed == String(bought.value))
        let json = report.jsonText()
        #expect(json.contains("\"bookbuyer\": {\n      \"received\": 0,\n      \"booksBought\": \(bought.value),"))
    }
}
