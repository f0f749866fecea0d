import Foundation
@testable import MeshFuzz
import MeshManifest
import MeshModel
import SimCore
import Testing

/// The parser fuzz entries over the seed corpus `make fuzz` starts from (so the harness code runs
/// in every `swift test`), and the checks that make a finding out of a bad error.
@Suite struct ParserFuzzingTests {
    /// Runs `entry` over each file, and checks that the file parses: a seed that does not would
    /// only ever test its parser's error path.
    func runSeeds(_ files: [URL], atLeast count: Int, _ entry: (UnsafeRawBufferPointer) throws(FuzzFinding) -> Void,
                  parses: (String, String) throws -> Void) throws {
        #expect(files.count >= count)
        for file in files {
            let bytes = try SeedCorpus.bytes(file)
            #expect(throws: Never.self, "\(file.lastPathComponent)") { try bytes.fuzz(entry) }
            #expect(throws: Never.self, "\(file.lastPathComponent)") { try parses(String(decoding: bytes, as: UTF8.self), file.path) }
        }
    }

    @Test func shippedScenariosAndSeedsPassTheScenarioEntry() throws {
        try runSeeds(SeedCorpus.files("scenarios") + SeedCorpus.files("fuzz/seeds/scenario"), atLeast: 10, ParserFuzzing.scenario) {
            _ = try ScenarioParser.parse($0, file: $1)
        }
    }

    @Test func shippedManifestsAndSeedsPassTheManifestEntry() throws {
        try runSeeds(SeedCorpus.files("deploy/samples/bookstore") + SeedCorpus.files("fuzz/seeds/manifest"), atLeast: 9, ParserFuzzing.manifest) {
            _ = try ManifestDecoder.decode($0, file: $1)
        }
        // The whole sample directory at once, as `fsm controller --manifests` reads it.
        let sample = try SeedCorpus.files("deploy/samples/bookstore").flatMap { try SeedCorpus.bytes($0) + Array("\n---\n".utf8) }
        #expect(throws: Never.self) { try sample.fuzz(ParserFuzzing.manifest) }
    }

    /// Configs as the controller writes them for every meshed pod of every shipped scenario, whole
    /// and cut short, then the hand-written seeds.
    @Test func controllerConfigsAndSeedsPassTheJSONEntry() throws {
        var inputs: [[UInt8]] = []
        for file in SeedCorpus.files("scenarios") {
            for (_, config) in try ParserFuzzing.meshedConfigs(scenario: try SeedCorpus.bytes(file)) {
                let json = Array(config.renderedJSON(pretty: true).utf8)
                inputs += [json, Array(config.renderedJSON().utf8), Array(json.prefix(json.count / 2)), Array(json.dropLast())]
            }
        }
        #expect(inputs.count >= 40)
        inputs += try SeedCorpus.files("fuzz/seeds/config-json").map(SeedCorpus.bytes)
        for input in inputs {
            #expect(throws: Never.self) { try input.fuzz(ParserFuzzing.proxyConfigJSON) }
        }
    }

    @Test func anErrorOnTwoLinesIsAFinding() {
        let error = ManifestError(file: "fuzz.yaml", line: 1, column: 1, path: "name", message: "expected a string,\nfound a list")
        #expect(throws: FuzzFinding.self) { try ParserFuzzing.check(error, in: "name: [a]\n") }
    }

    @Test func anErrorPastTheLastLineOrInAnotherFileIsAFinding() {
        let text = "a: 1\nb: 2\n"
        #expect(throws: Never.self) { try ParserFuzzing.check(ManifestError(file: "fuzz.yaml", line: 3, column: 1, message: "at the end"), in: text) }
        #expect(throws: FuzzFinding.self) { try ParserFuzzing.check(ManifestError(file: "fuzz.yaml", line: 4, column: 1, message: "past the end"), in: text) }
        #expect(throws: FuzzFinding.self) { try ParserFuzzing.check(ManifestError(file: "other.yaml", line: 1, column: 1, message: "elsewhere"), in: text) }
        #expect(throws: FuzzFinding.self) { try ParserFuzzing.check(ManifestError(file: "fuzz.yaml", line: 1, column: 1, message: ""), in: text) }
    }

    @Test func malformedJSONIsNoFindingButItsErrorsAreChecked() throws {
        for text in ["", "{", "[1,", "{\"a\":tru}", "\"\\ud800\"", "1e999", String(repeating: "[", count: 500)] {
            #expect(throws: Never.self, "\(text.prefix(20))") { try Array(text.utf8).fuzz(ParserFuzzing.proxyConfigJSON) }
        }
    }
}
