import Foundation
import Testing

/// `bench` on swift-argument-parser: help on standard output with status 0 (for every
/// subcommand), bad values refused with one line and status 64, nothing but the output directory
/// written unless `--write-docs`.
@Suite struct BenchCommandTests {
    @Test func helpListsTheSubcommands() throws {
        let outcome = try BuiltCommand("bench").run(["--help"])
        #expect(outcome.status == 0)
        #expect(outcome.stderr.isEmpty)
        for name in ["control-plane", "dataplane", "gateway", "upstream", "load", "webhook", "kube"] { #expect(outcome.stdout.contains(name), "\(name)") }
    }

    @Test(arguments: ["control-plane", "dataplane", "gateway", "upstream", "load", "webhook", "kube"])
    func helpPerSubcommand(_ name: String) throws {
        let outcome = try BuiltCommand("bench").run([name, "--help"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("USAGE: bench \(name)"), "\(outcome.stdout)")
    }

    @Test func writingTheDocsIsOptIn() throws {
        for name in ["dataplane", "gateway"] {
            let outcome = try BuiltCommand("bench").run([name, "--help"])
            #expect(outcome.stdout.contains("--write-docs"))
            #expect(!outcome.stdout.contains("--no-docs"))
        }
    }

    @Test(arguments: [
        (["load", "--port", "8080", "--qps", "abc"], "Error: The value 'abc' is invalid for '--qps <qps>'"),
        (["load", "--port", "8080", "--seconds", "abc"], "Error: The value 'abc' is invalid for '--seconds <seconds>'"),
        (["load", "--port", "8080", "--qps", "100", "--closed"], "Error: --qps and --closed exclude each other"),
        (["load", "--qps", "100"], "Error: Missing expected argument '--port <port>'"),
        (["dataplane", "--seconds", "0"], "Error: --seconds must be a positive number, found 0.0"),
        (["dataplane", "--concurrencies", "4,x"], "Error: --concurrencies: expected positive integers separated by commas, found \"4,x\""),
        (["dataplane", "--modes", "ours,envoy"], "Error: --modes: unknown mode \"ours\" (known: baseline, ours-client, ours-both, ours-both-mtls, ours-both-mtls-logged, ours-both-mtls-traced, envoy-1hop, envoy-2hop, haproxy-1hop, haproxy-2hop, nginx-1hop, nginx-2hop)"),
        (["gateway", "--closed-seconds", "0"], "Error: --closed-seconds must be a positive number, found 0.0"),
        (["gateway", "--concurrencies", "2,,4"], "Error: --concurrencies: expected positive integers separated by commas, found \"2,,4\""),
        (["gateway", "--qps", "fast"], "Error: The value 'fast' is invalid for '--qps <qps>'"),
        (["gateway", "--write-configs", "/tmp/x", "--write-docs"], "Error: --write-configs and --write-docs exclude each other"),
        (["gateway", "--host", "localhost"], "Error: --host must be an IPv4 address, found \"localhost\""),
        (["control-plane", "--services", "5"], "Error: --services must be at least 10, found 5"),
        (["nope"], "Error: Unexpected argument 'nope'"),
    ] as [([String], String)])
    func badArgumentsAreUsageErrors(_ arguments: [String], _ firstLine: String) throws {
        let outcome = try BuiltCommand("bench").run(arguments)
        #expect(outcome.status == 64)
        #expect(outcome.stderr.split(separator: "\n").first.map(String.init) == firstLine, "\(outcome.stderr)")
    }
}
