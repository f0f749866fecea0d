import Foundation
import MeshModel
import Testing

/// `sim FILE --seeds A..B [--jobs N]`: every seed in its own process, the reports merged; the
/// summary names the seeds that failed and their failing expectations.
@Suite struct SwarmCommandTests {
    /// scenarios/echo.yaml with 20 requests, where echo-a answers 5% of its requests with 503:
    /// whether all 20 calls get 200 depends on the seed.
    static func fragileScenario() throws -> String {
        try SimCommandTests.scenario(replacing: [
            ("requests: 100\n", "requests: 20\n"),
            ("status: { 200: 100 }", "status: { 200: 20 }"),
            ("serviceTime: 1ms }\n  echo-b", "serviceTime: 1ms, errorRate: 0.05, errorStatus: 503 }\n  echo-b"),
            ("  - app: echo-a\n    received: 50\n", ""),
        ])
    }

    static func seedReports(_ merged: JSONValue) -> [(seed: Int64, result: String, report: JSONValue)] {
        guard case .array(let runs)? = merged["runs"] else { return [] }
        return runs.compactMap { run in
            guard case .int(let seed)? = run["seed"], case .string(let result)? = run["result"], let report = run["report"] else { return nil }
            return (seed, result, report)
        }
    }

    @Test func everySeedPassing() throws {
        let sim = try BuiltCommand("sim")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = try scratch.write("echo.yaml", try SimCommandTests.scenario())
        let outcome = try sim.run([file, "--seeds", "1..3", "--jobs", "2", "--json", scratch.file("merged.json")])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.isEmpty)
        #expect(outcome.stdout.hasPrefix("swarm echo: 3 seeds, 3 passed\n"))
        #expect(outcome.stdout.contains("\npassed                3  1..3\n"))
        let merged = try JSONValue(parsing: String(contentsOfFile: scratch.file("merged.json"), encoding: .utf8))
        #expect(merged["passed"] == .bool(true))
        #expect(Self.seedReports(merged).map(\.seed) == [1, 2, 3])
        #expect(Self.seedReports(merged).allSatisfy { $0.result == "passed" && $0.report["passed"] == .bool(true) })
    }

    @Test func theSummaryListsTheSeedsThatFailed() throws {
        let sim = try BuiltCommand("sim")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = try scratch.write("fragile.yaml", try Self.fragileScenario())
        let outcome = try sim.run([file, "--seeds", "1..12", "--json", "-"], timeout: 120)
        #expect(outcome.status == 1, "\(outcome.stderr)")
        // With --json -, the merged report goes to standard output and the summary to standard error.
        let merged = try JSONValue(parsing: outcome.stdout)
        let runs = Self.seedReports(merged)
        #expect(runs.map(\.seed) == Array(1...12))
        let failed = runs.filter { $0.result == "failed" }.map(\.seed)
        let passed = runs.filter { $0.result == "passed" }.map(\.seed)
        #expect(!failed.isEmpty && !passed.isEmpty, "the fragile expectation should fail for some of these seeds and hold for others")
        #expect(failed.count + passed.count == 12)
        #expect(outcome.stderr.contains("failed   "))
        for seed in failed {
            #expect(outcome.stderr.contains("\n  seed \(seed): calls status {200: 20}: observed "), "\(outcome.stderr)")
        }
        for seed in passed { #expect(!outcome.stderr.contains("\n  seed \(seed):")) }
        #expect(merged["summary"]?["failed"] == .int(Int64(failed.count)))

        // A failing seed replayed on its own gives the report the swarm holds for it.
        let seed = try #require(failed.first)
        let alone = try sim.run([file, "--seed", String(seed), "--quiet", "--json", "-"])
        #expect(alone.status == 1)
        #expect(try JSONValue(parsing: alone.stdout) == runs.first { $0.seed == seed }?.report)
    }

    @Test(arguments: [
        (["--seeds", "5..1"], "sim: --seeds: expected N, A..B (A <= B) or a comma-separated list of them (1..100,200) with seeds from 0 to 9223372036854775807, found \"5..1\"\n"),
        (["--seeds", "1,x"], "sim: --seeds: expected N, A..B (A <= B) or a comma-separated list of them (1..100,200) with seeds from 0 to 9223372036854775807, found \"x\"\n"),
        (["--seeds", "1..20000"], "sim: --seeds: at most 10000 seeds in one run\n"),
        (["--seeds", "1..2", "--seed", "3"], "sim: give --seed (one run) or --seeds (one run per seed), not both\n"),
        (["--seeds", "1..2", "--jobs", "0"], "sim: --jobs must be from 1 to 256, found 0\n"),
        (["--jobs", "2"], "sim: --jobs needs --seeds (it is how many seeds run at once)\n"),
        (["--seeds", "1..2", "--html", "x.html"], "sim: --html writes one run's page: run the seed you want with --seed N --html PATH\n"),
    ])
    func badSwarmArguments(arguments: [String], message: String) throws {
        let sim = try BuiltCommand("sim")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = try scratch.write("echo.yaml", try SimCommandTests.scenario())
        let outcome = try sim.run([file] + arguments)
        #expect(outcome.status == 2)
        #expect(outcome.stderr == message)
        #expect(outcome.stdout.isEmpty)
    }
}
