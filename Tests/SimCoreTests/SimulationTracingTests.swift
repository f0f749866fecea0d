import Foundation
import MeshModel
import MeshProxy
import SimCore
import Testing

/// Tracing in the simulator (issue 13 item 3): the sidecars' spans reach the report, one purchase
/// is one trace across bookbuyer, bookstore and bookwarehouse, and `sim --html` draws it.
@Suite struct SimulationTracingTests {
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scenarios/tracing.yaml")

    static func scenario(_ edit: (String) -> String = { $0 }) throws -> Scenario {
        try ScenarioParser.parse(edit(try String(contentsOf: shipped, encoding: .utf8)), file: "tracing.yaml")
    }

    @Test func onePurchaseIsOneTraceAcrossTheThreeServices() throws {
        let result = runScenario(try Self.scenario())
        let traces = try #require(result.traces)
        let sample = try #require(traces.samples.first { $0.source == "purchase" })
        #expect(sample.spans.map { "\($0.service) \($0.kind.rawValue)" } == [
            "bookbuyer CLIENT", "bookstore SERVER", "bookstore CLIENT", "bookwarehouse SERVER",
        ])
        let (buy, served, restock, stocked) = (sample.spans[0], sample.spans[1], sample.spans[2], sample.spans[3])
        #expect(served.spanID == buy.spanID, "the server half shares the client's span id")
        #expect(restock.parentID == served.spanID, "the restock is a child of the purchase the bookstore served")
        #expect(stocked.spanID == restock.spanID)
        #expect(buy.parentID == nil)
        #expect(sample.spans.allSatisfy { $0.status == "200" })
        #expect(buy.durationMs >= served.durationMs && served.durationMs >= restock.durationMs)
        #expect(traces.spans >= 40 && traces.notKept == 0, "10 purchases of 4 spans each, besides bookbuyer's own loop")
        for outcome in ExpectationChecker.check(result) {
            #expect(outcome.passed, "\(outcome.expectation.text): \(outcome.observed)")
        }
    }

    @Test func theReportShowsTheTraceInEveryFormat() throws {
        let report = Report(result: runScenario(try Self.scenario()))
        let json = try JSONValue(parsing: report.jsonText())
        let spans = json["traces"]?["samples"]?["purchase"]?["spans"]
        #expect(spans?.arrayItems?.count == 4)
        #expect(spans?.arrayItems?.first?["service"]?.stringValue == "bookbuyer")
        let text = report.text()
        #expect(text.contains("traces: "))
        #expect(text.contains("        bookstore client POST /restock-books → bookwarehouse  200"), "\(text)")
        let html = report.html()
        #expect(html.contains("<h2>Traces</h2>"))
        #expect(html.contains("<svg class=\"trace\""))
        #expect(html.components(separatedBy: "<rect ").count - 1 >= 4)
    }

    @Test func withTracingOffThereIsNoTraceAndTheExpectationSaysSo() throws {
        let off = try Self.scenario { $0.replacing("tracing: { enable: true,", with: "tracing: { enable: false,") }
        let result = runScenario(off)
        #expect(result.traces == nil)
        let outcome = try #require(ExpectationChecker.check(result).first { $0.expectation.text.hasPrefix("trace of") })
        #expect(!outcome.passed && outcome.observed == "tracing is off")
        #expect(!Report(result: result).jsonText().contains("\"traces\""))
    }

    @Test func aTraceExpectationNamesAKnownSourceAndSomeServices() throws {
        #expect(throws: ManifestError.self) { try Self.scenario { $0.replacing("  - trace: purchase", with: "  - trace: nobody") } }
        do {
            _ = try Self.scenario { $0.replacing("  - trace: purchase", with: "  - trace: nobody") }
        } catch {
            #expect("\(error)".hasPrefix("tracing.yaml:"), "\(error)")
            #expect("\(error)".contains("no load or Deployment named \"nobody\""), "\(error)")
        }
        do {
            _ = try Self.scenario { $0.replacing("services: [bookbuyer, bookstore, bookwarehouse]", with: "services: []") }
            Issue.record("an empty services list was accepted")
        } catch {
            #expect("\(error)".contains("expected at least one service name"), "\(error)")
        }
    }
}
