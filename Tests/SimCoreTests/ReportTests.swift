import MeshModel
@testable import SimCore
import Testing

private let sampleExpectations = [
    SimCore.Expectation(check: .status(load: "phase1", counts: [200: 7, 429: 3]), text: "phase1 status {200: 7, 429: 3}"),
    SimCore.Expectation(check: .received(app: "httpbin", count: 1), text: "app httpbin received 1"),
]

@Suite struct ReportTests {
    @Test func jsonHasTheContractShapeAndKeyOrder() {
        let report = Report(result: sampleResult(expectations: sampleExpectations))
        let expected = #"{"scenario":"sample","seed":42,"virtualTime":"30s","passed":false,"#
            + #""loads":{"phase1":{"requests":10,"status":{"200":7,"429":3},"backends":{"bookstore-v1":6,"bookstore-v2":4},"#
            + #""bodies":{"Hi, I am v1!":4,"Hi, I am v2!":3},"#
            + #""latencyMs":{"p50":0.9,"p90":1.2,"p99":2,"p999":2.4,"max":2.4},"responseFlags":{}}},"#
            + #""apps":{"bookstore-v1":{"received":6,"booksSold":5,"restockRequests":2},"httpbin":{"received":60}},"#
            + #""proxies":{"bookstore/bookstore-v1-0":{"cpuMs":1.235,"memoryBytes":1048576,"configBytes":4096},"#
            + #""bookstore/bookstore-v1-1":{"cpuMs":0.5,"memoryBytes":1048576,"configBytes":4096},"#
            + #""bookstore/bookstore-v10-0":{"cpuMs":0.5,"memoryBytes":1048576,"configBytes":4096}},"#
            + #""expectations":[{"expect":"phase1 status {200: 7, 429: 3}","passed":true,"observed":"{200: 7, 429: 3}"},"#
            + #"{"expect":"app httpbin received 1","passed":false,"observed":"60"}]}"#
        #expect(report.json().rendered() == expected)
    }

    @Test func jsonBodiesFollowBackendsAndAreEmptyWithoutBodies() throws {
        var result = sampleResult()
        result.loads[0].bodies = []
        let rendered = Report(result: result).json().rendered()
        #expect(rendered.contains(#""backends":{"bookstore-v1":6,"bookstore-v2":4},"bodies":{},"latencyMs""#))
        // Body texts are JSON-escaped keys.
        result.loads[0].bodies = [(text: "say \"hi\"", count: 1)]
        #expect(Report(result: result).json().rendered().contains(#""bodies":{"say \"hi\"":1}"#))
    }

    @Test func jsonIsDeterministic() {
        let first = Report(result: sampleResult(expectations: sampleExpectations)).jsonText()
        let second = Report(result: sampleResult(expectations: sampleExpectations)).jsonText()
        #expect(first == second)
        #expect(first.hasPrefix("{\n  \"scenario\": \"sample\",\n  \"seed\": 42,\n"))
        #expect(first.hasSuffix("}\n"))
    }

    @Test func textSummaryStartsWithTheSeed() {
        let text = Report(result: sampleResult(expectations: sampleExpectations)).text()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "seed: 42")
        #expect(text.contains("scenario: sample (sample.yaml)"))
        #expect(text.contains("status:   200 7 (70.0%), 429 3 (30.0%)"))
        #expect(text.contains("backends: bookstore-v1 6 (60.0%), bookstore-v2 4 (40.0%)"))
        #expect(text.contains(#"bodies:   "Hi, I am v1!" 4 (57.1%), "Hi, I am v2!" 3 (42.9%)"#))
        #expect(text.contains("latency (modelled): p50 900us  p90 1.20ms  p99 2.00ms  p999 2.40ms  max 2.40ms"))
        #expect(text.contains("modelled virtual time"))
        // Two phases: 4/0 in the first second, 2/4 in the next.
        #expect(text.contains("0s-1s  bookstore-v1 100.0%, bookstore-v2 0.0%  (4)"))
        #expect(text.contains("1s-2s  bookstore-v1 33.3%, bookstore-v2 66.7%  (6)"))
        #expect(text.contains("bookstore/bookstore-v1-0   cpu 1.23ms  memory 1.0 MiB  config 4096 B"))
        #expect(text.contains("5.00s  killed pod bookstore/bookstore-v1-0"))
        #expect(text.contains("  bookstore-v1   6  booksSold 5, restockRequests 2\n"))
        #expect(text.contains("  httpbin       60\n"))
        #expect(text.contains("PASS  phase1 status {200: 7, 429: 3}  (observed: {200: 7, 429: 3})"))
        #expect(text.contains("FAIL  app httpbin received 1  (observed: 60)"))
        #expect(lines.dropLast().last == "result: FAIL (1 of 2 expectations failed)")
    }

    @Test func sharesOverTimeAreSummarisedByPhase() {
        var result = sampleResult()
        // A canary: 100/0 for 10s, about 50/50 for 10s (with noise), then 0/100 for 10s.
        result.loads[0].buckets = (0..<30).map { second in
            let v2 = second < 10 ? 0 : second < 20 ? 48 + (second % 3) * 2 : 100
            return LoadBucket(start: .seconds(Int64(second)), status: [(code: 200, count: 100)],
                              backends: [(deployment: "bookstore-v1", count: 100 - v2), (deployment: "bookstore-v2", count: v2)])
        }
        let text = Report(result: result).text()
        #expect(text.contains(" 0s-10s  bookstore-v1 100.0%, bookstore-v2 0.0%  (1000)\n"))
        #expect(text.contains(" 10s-20s  bookstore-v1 50.0%, bookstore-v2 50.0%  (1000)\n"))
        #expect(text.contains(" 20s-30s  bookstore-v1 0.0%, bookstore-v2 100.0%  (1000)\n"))
        #expect(text.ranges(of: "s  bookstore-v1 ").count == 3)
    }

    @Test func htmlIsSelfContainedWellFormedAndDeterministic() throws {
        var result = sampleResult(expectations: sampleExpectations)
        result.scenario.description = "Quotes \" and <tags> & ampersands are escaped."
        let html = Report(result: result).html()
        #expect(html == Report(result: result).html())
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.contains("<script"))
        // The only URL is the SVG namespace: nothing is fetched from the network.
        let withoutNamespace = html.replacing("http://www.w3.org/2000/svg", with: "")
        #expect(!withoutNamespace.contains("http://") && !withoutNamespace.contains("https://") && !withoutNamespace.contains("src="))
        #expect(html.contains("Quotes &quot; and &lt;tags&gt; &amp; ampersands are escaped."))
        #expect(html.contains("seed <b>42</b>"))
        #expect(html.contains("modelled"))
        #expect(html.contains("<td>bookstore-v1</td><td class=\"num\">6</td><td>booksSold <b>5</b>, restockRequests <b>2</b></td>"))
        // The whole-run timelines (backends, statuses), then one latency chart and two share charts for the one load.
        #expect(html.ranges(of: "<svg ").count == 5)
        #expect(html.ranges(of: "class=\"timeline\"").count == 2)
        try checkWellFormed(html)
    }
}

@Suite struct ReportHTMLTimelineTests {
    @Test func backendColoursAreStableAcrossThePage() throws {
        let result = sampleResult()
        let colors = ReportColors(result: result)
        let v1 = colors.backend("bookstore-v1"), v2 = colors.backend("bookstore-v2")
        #expect(v1 != v2)
        #expect(ReportColors.palette.contains(v1) && ReportColors.palette.contains(v2))
        // The same colour for the same name on another page with the same backends.
        #expect(ReportColors(result: sampleResult()).backend("bookstore-v1") == v1)
        let html = Report(result: result).html()
        // Whole-run chart, per-load chart, and both legends use the one colour per backend.
        #expect(html.ranges(of: "fill=\"\(v1)\"><title>bookstore-v1 ").count >= 3)
        #expect(!html.contains("fill=\"\(v2)\"><title>bookstore-v1 "))
        // 200 is the first 2xx code: dark green everywhere.
        #expect(colors.status(200) == "#2e7d32")
        #expect(colors.status(429) == "#ef6c00")
    }

    @Test func fnvHashIsTheStandardOne() {
        #expect(ReportColors.fnv1a("") == 0xcbf2_9ce4_8422_2325)
        #expect(ReportColors.fnv1a("a") == 0xaf63_dc4c_8601_ec8c)
    }

    @Test func paletteCollisionsTakeTheNextFreeColour() {
        var result = sampleResult()
        let names = (0..<10).map { "backend-\($0)" }
        result.loads[0].backends = names.map { (deployment: $0, count: 1) }
        let colors = ReportColors(result: result)
        #expect(Set(names.map(colors.backend)).count == 10)
    }

    @Test func markersFollowTheEventKinds() {
        #expect(Report.markerKind(.change) == .change)
        #expect(Report.markerKind(.configPush) == .push)
        #expect(Report.markerKind(.fault) == .fault)
        #expect(Report.markerKind(.load) == nil)
        #expect(Report.markerKind(.note) == nil)
    }

    @Test func theTimelineSumsEveryLoadPerSecond() throws {
        var result = sampleResult()
        var second = result.loads[0]
        second.name = "phase2"
        second.buckets = [LoadBucket(start: .seconds(1), status: [(code: 200, count: 10)], backends: [(deployment: "bookstore-v2", count: 10)])]
        result.loads.append(second)
        result.events.append(SimEvent(at: .milliseconds(1500), kind: .change, text: "applied TrafficSplit/bookstore/bookstore-split"))
        let timeline = Report.timeline(result)
        #expect(timeline.width == 1_000_000_000)
        #expect(timeline.columns.count == 30)
        #expect(timeline.columns[0].backends == ["bookstore-v1": 4])
        #expect(timeline.columns[1].backends == ["bookstore-v1": 2, "bookstore-v2": 14])
        #expect(timeline.columns[1].status == [200: 13, 429: 3])
        #expect(timeline.loads.map(\.name) == ["phase1", "phase2"])
        let html = Report(result: result).html()
        #expect(html.contains("1.5s applied TrafficSplit/bookstore/bookstore-split"))
        #expect(html.contains("5s killed pod bookstore/bookstore-v1-0"))
        #expect(html.contains("bookstore-v2 1s-2s: 14 of 16 (87.5%)"))
        #expect(html.contains(">load phase2<"))
        try checkWellFormed(html)
    }

    @Test func longRunsMergeColumns() {
        var result = sampleResult()
        result.virtualTime = .seconds(3000)
        let timeline = Report.timeline(result)
        #expect(timeline.columns.count <= Report.maxTimelineColumns)
        #expect(timeline.width == 16_000_000_000)
    }

    @Test func noLoadsNoTimeline() {
        var result = sampleResult()
        result.loads = []
        #expect(!Report(result: result).html().contains("Whole run"))
    }
}

/// Checks that every element is closed in order (void elements excepted) and attributes are quoted.
private func checkWellFormed(_ html: String) throws {
    let void: Set<String> = ["meta", "br", "hr", "img", "input", "link"]
    var stack: [String] = []
    var rest = Substring(html)
    while let open = rest.firstIndex(of: "<") {
        rest = rest[rest.index(after: open)...]
        guard let close = rest.firstIndex(of: ">") else { Issue.record("unterminated tag"); return }
        let tag = rest[..<close]
        rest = rest[rest.index(after: close)...]
        if tag.hasPrefix("!") { continue }
        let selfClosing = tag.hasSuffix("/")
        let name = String(tag.drop(while: { $0 == "/" }).prefix(while: { $0.isLetter || $0.isNumber }))
        #expect(!name.isEmpty, "empty tag name in <\(tag)>")
        #expect(tag.filter { $0 == "\"" }.count % 2 == 0, "unbalanced quotes in <\(tag)>")
        if tag.hasPrefix("/") {
            let top = stack.popLast()
            try #require(top != nil, "closing </\(name)> with nothing open")
            #expect(top == name, "closing </\(name)> while <\(top)> is open")
        } else if !selfClosing && !void.contains(name) {
            stack.append(name)
        }
    }
    #expect(stack.isEmpty, "unclosed elements: \(stack)")
}
