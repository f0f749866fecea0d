import Foundation
import Testing

/// Every fenced `sh` block of README.md runs as written, in order, in one shell, in a scratch
/// directory holding copies of `scenarios/` and `deploy/`, with the built binaries first on PATH.
/// A block preceded by `<!-- readme-test: skip: REASON -->` is not run; `blocksMarkedSkip` is
/// reported skipped with each one and its reason. Whatever a block leaves running (background jobs, an `fsm up`) is
/// stopped at the end, even when a block fails. Addresses: the README's own (127.0.0.1:6060,
/// pods 127.1.0.x), which no other suite uses.
@Suite struct ReadmeTests {
    struct Block: Sendable, CustomTestStringConvertible {
        var line: Int
        var text: String
        var skipReason: String?
        var testDescription: String { "README.md:\(line)" }
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let marker = "<!-- readme-test: skip:"

    /// The `sh` blocks, in order, each with the skip reason its marker gives.
    static func blocks(of markdown: String) -> [Block] {
        var blocks: [Block] = []
        var current: Block?
        var previous = ""
        for (index, line) in markdown.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if var block = current {
                if line.hasPrefix("```") {
                    blocks.append(block)
                    current = nil
                } else {
                    block.text += line + "\n"
                    current = block
                }
            } else if line == "```sh" {
                var reason: String?
                if previous.hasPrefix(marker), previous.hasSuffix("-->") {
                    reason = String(previous.dropFirst(marker.count).dropLast(3)).trimmingCharacters(in: .whitespaces)
                }
                current = Block(line: index + 1, text: "", skipReason: reason)
            }
            previous = String(line)
        }
        return blocks
    }

    static let readme = (try? String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""
    static let skipped = blocks(of: readme).filter { $0.skipReason != nil }

    @Test func markersAreReadAndEveryOtherBlockRuns() {
        let sample = "a\n<!-- readme-test: skip: needs a cluster -->\n```sh\nkubectl get pods\n```\n```sh\necho hi\n```\n```yaml\nx: 1\n```\n"
        let parsed = Self.blocks(of: sample)
        #expect(parsed.map(\.line) == [3, 6])
        #expect(parsed.map(\.skipReason) == ["needs a cluster", nil])
        #expect(parsed.map(\.text) == ["kubectl get pods\n", "echo hi\n"])
    }

    @Test(.timeLimit(.minutes(10)))
    func commandBlocksRunAsWritten() throws {
        let runnable = Self.blocks(of: Self.readme).filter { $0.skipReason == nil }
        try #require(runnable.count >= 5, "README.md has \(runnable.count) runnable sh blocks")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        for directory in ["scenarios", "deploy"] {
            try FileManager.default.copyItem(at: Self.root.appendingPathComponent(directory), to: URL(fileURLWithPath: scratch.file(directory)))
        }
        let script = try scratch.write("readme.sh", Self.script(runnable))
        let bin = URL(fileURLWithPath: try BuiltCommand("fsm").path).deletingLastPathComponent().path
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let outcome = try BuiltCommand(path: "/bin/bash").run([script], in: scratch.path, timeout: 420, environment: ["PATH": path])
        #expect(outcome.status == 0, "\(outcome.stderr.suffix(3000))")
        #expect(outcome.stdout.contains("result: PASS"), "sim's summary")
        #expect(!outcome.stderr.contains("CERTIFICATE_VERIFY_FAILED"), "\(outcome.stderr.suffix(3000))")
    }

    /// The blocks not run, each with its reason, in the runner's "skipped" line.
    static let skipNote = Comment(rawValue: "not run here: " + skipped.map { "\($0.testDescription) (\($0.skipReason ?? ""))" }.joined(separator: "; "))

    @Test(.disabled(if: !skipped.isEmpty, skipNote))
    func blocksMarkedSkip() {
        #expect(Self.skipped.isEmpty)
    }

    /// One bash script: each block after `README_LINE=N`, failing at the first failed command
    /// with its block's line; at exit (normal, failed or killed) background jobs and an `fsm up`
    /// in the scratch directory are stopped.
    static func script(_ blocks: [Block]) -> String {
        var text = """
        set -e -o pipefail
        README_LINE=0
        trap 'echo "README.md block at line $README_LINE failed: $BASH_COMMAND" >&2' ERR
        cleanup() {
          jobs -p | xargs -r kill 2>/dev/null || true
          wait || true
          if [ -f .fsm-up/up.json ]; then fsm down > /dev/null 2>&1 || true; fi
        }
        trap cleanup EXIT

        """
        for block in blocks { text += "README_LINE=\(block.line)\n" + block.text + "\n" }
        return text
    }
}
