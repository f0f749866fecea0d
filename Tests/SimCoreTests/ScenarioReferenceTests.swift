import Foundation
import MeshModel
import SimCore
import Testing

/// docs/SCENARIOS.md stays complete: every key the parser accepts (from its own tables), every
/// fault kind, app model and expectation, and every field of a real JSON report appear in it;
/// and the example `sim --example` prints parses and passes.
@Suite struct ScenarioReferenceTests {
    static let reference: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("docs/SCENARIOS.md"), encoding: .utf8)) ?? ""
    }()

    /// Written as `name`, `name: ...` or the last part of a dotted path (`featureFlags.name`).
    static func documented(_ name: String) -> Bool {
        reference.contains("`\(name)`") || reference.contains("`\(name):") || reference.contains(".\(name)`")
    }

    @Test func everyKeyTheParserAcceptsIsDocumented() {
        #expect(!Self.reference.isEmpty, "docs/SCENARIOS.md is missing")
        let missing = ScenarioKeys.all.filter { !Self.documented($0.key) }.map { "\($0.section): \($0.key)" }
        #expect(missing.isEmpty, "not in docs/SCENARIOS.md: \(missing)")
    }

    @Test func everyFaultKindModelAndCheckIsDocumented() {
        let names = ScenarioKeys.faults.map(\.kind) + AppSpec.Model.allCases.map(\.rawValue) + ScenarioKeys.expectChecks + ScenarioKeys.stepActions
        let missing = names.filter { !Self.documented($0) }
        #expect(missing.isEmpty, "not in docs/SCENARIOS.md: \(missing)")
    }

    @Test func everyReportFieldIsDocumented() throws {
        let scenario = try ScenarioParser.parse(ScenarioExample.text, file: "example.yaml")
        var simulation = Simulation(scenario: scenario)
        let report = Report(result: simulation.run())
        let json = try JSONValue(parsing: report.jsonText())
        var fields = Set<String>()
        Self.collectFields(json, into: &fields, named: ["loads", "apps", "proxies", "status", "backends", "bodies", "responseFlags"])
        let missing = fields.sorted().filter { !Self.documented($0) }
        #expect(missing.isEmpty, "report fields not in docs/SCENARIOS.md: \(missing)")
        #expect(fields.isSuperset(of: ["scenario", "virtualTime", "latencyMs", "p999", "cpuMs", "observed"]))
    }

    @Test func theExampleParsesAndPasses() throws {
        let scenario = try ScenarioParser.parse(ScenarioExample.text, file: "example.yaml")
        var simulation = Simulation(scenario: scenario)
        let report = Report(result: simulation.run())
        #expect(report.passed, "\(report.text())")
        // Every section of a scenario file is shown.
        for key in ScenarioKeys.topLevel { #expect(ScenarioExample.text.contains("\n\(key):"), "\(key)") }
    }

    /// The keys of every object, except the ones inside maps keyed by names (loads, apps, status
    /// codes, ...): those name things of the scenario, not fields. A load's `headers` is keyed by
    /// names twice (header, then value): nothing inside it is a field.
    static func collectFields(_ value: JSONValue, into fields: inout Set<String>, named maps: Set<String>, inMap: Bool = false) {
        switch value {
        case .object(let pairs):
            for (key, child) in pairs {
                if !inMap { fields.insert(key) }
                if !inMap && key == "headers" { continue }
                collectFields(child, into: &fields, named: maps, inMap: !inMap && maps.contains(key))
            }
        case .array(let items):
            for item in items { collectFields(item, into: &fields, named: maps) }
        default:
            break
        }
    }
}
