import Foundation
import Testing

/// `sim` for someone starting out: `--example` prints a scenario that runs as printed; a long run
/// shows its progress (virtual time, events per second) on standard error unless `--quiet`; the
/// summary's durations are rounded for reading while the JSON keeps exact values.
@Suite struct SimNewcomerTests {
    @Test func examplePrintsAScenarioThatRuns() throws {
        let sim = try BuiltCommand("sim")
        let printed = try sim.run(["--example"])
        #expect(printed.status == 0)
        #expect(printed.stdout.hasPrefix("# A scenario:"))
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = try scratch.write("example.yaml", printed.stdout)
        let run = try sim.run([file])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("result: PASS"))
    }

    @Test func exampleTakesNoFiles() throws {
        let outcome = try BuiltCommand("sim").run(["--example", "a.yaml"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.hasPrefix("Error: --example prints a scenario and takes no files\n"))
    }

    @Test func noFileSaysWhatToDo() throws {
        let outcome = try BuiltCommand("sim").run([])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.hasPrefix("Error: expected at least one scenario file (or --example to print one to start from)\n"))
    }

    /// 40,000 requests: well over one progress report's worth of events.
    static let busy = """
    name: busy
    mesh: { namespaces: [shop, client] }
    manifests: |
      apiVersion: v1
      kind: Service
      metadata: { name: web, namespace: shop }
      spec: { ports: [{ port: 8080 }], selector: { app: web } }
      ---
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: web, namespace: shop }
      spec:
        replicas: 1
        selector: { matchLabels: { app: web } }
        template: { metadata: { labels: { app: web } }, spec: { containers: [{ name: web, image: example/web }] } }
      ---
      apiVersion: apps/v1
      kind: Deployment
      metadata: { name: curl, namespace: client }
      spec:
        replicas: 1
        selector: { matchLabels: { app: curl } }
        template: { metadata: { labels: { app: curl } }, spec: { containers: [{ name: curl, image: curlimages/curl }] } }
    apps:
      web: { model: echo, body: ok }
    steps:
      - at: 0s
        load: { name: many, from: client/curl, url: "http://web.shop:8080/", requests: 40000, concurrency: 8 }
    expect:
      - load: many
        status: { 200: 40000 }
    """

    @Test func progressLineUnlessQuiet() throws {
        let sim = try BuiltCommand("sim")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = try scratch.write("busy.yaml", Self.busy)
        let shown = try sim.run([file, "--progress-after", "0"])
        #expect(shown.status == 0, "\(shown.stderr)")
        let line = try #require(shown.stderr.split(separator: "\n").first { $0.hasPrefix("sim: busy: virtual time ") }, "\(shown.stderr)")
        #expect(line.contains(" events ("), "\(line)")
        #expect(line.hasSuffix("/s)"), "\(line)")
        let quiet = try sim.run([file, "--progress-after", "0", "--quiet"])
        #expect(quiet.status == 0)
        #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
    }

    @Test func summaryRoundsDurationsAndJSONKeepsThem() throws {
        let sim = try BuiltCommand("sim")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = try scratch.write("busy.yaml", Self.busy)
        let outcome = try sim.run([file, "--json", scratch.file("r.json")])
        let virtualTime = try #require(outcome.stdout.split(separator: "\n").first { $0.hasPrefix("virtual time: ") })
        // Three significant digits: `virtual time: 4.57s  (250012 events)`.
        #expect(virtualTime.range(of: #"^virtual time: ([0-9]\.[0-9]{2}|[0-9]{2}\.[0-9]|[0-9]{3})(us|ms|s)  \([0-9]+ events\)$"#, options: .regularExpression) != nil, "\(virtualTime)")
        let json = try String(contentsOfFile: scratch.file("r.json"), encoding: .utf8)
        #expect(json.range(of: #""virtualTime": "[0-9.]+(s|ms)""#, options: .regularExpression) != nil)
    }
}
