import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `sim` as a user runs it: bad files and paths are one line on standard error with exit status 2,
/// and output paths are checked before any scenario runs.
@Suite struct SimCommandTests {
    /// scenarios/echo.yaml of this package, with `replacing` applied (each pair once at least).
    static func scenario(replacing changes: [(String, String)] = [], filePath: String = #filePath) throws -> String {
        let root = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var text = try String(contentsOf: root.appendingPathComponent("scenarios/echo.yaml"), encoding: .utf8)
        for (old, new) in changes {
            try #require(text.contains(old), "scenarios/echo.yaml no longer has \(old)")
            text = text.replacingOccurrences(of: old, with: new)
        }
        return text
    }

    @Test func aGoodScenarioWritesItsReport() throws {
        let sim = try BuiltCommand("sim")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = try scratch.write("tiny.yaml", try Self.scenario())
        let outcome = try sim.run([file, "--quiet", "--json", scratch.file("report.json")])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.isEmpty)
        #expect(FileManager.default.fileExists(atPath: scratch.file("report.json")))
    }

    @Test func aDirectoryGivenAsAScenario() throws {
        let sim = try BuiltCommand("sim")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let outcome = try sim.run([scratch.path])
        #expect(outcome.status == 2)
        #expect(outcome.stderr == "\(scratch.path): is a directory; give scenario files (e.g. \(scratch.path)/*.yaml)\n")
        let missing = try sim.run([scratch.file("nope.yaml")])
        #expect(missing.status == 2)
        #expect(missing.stderr == "\(scratch.file("nope.yaml")): no such file\n")
    }

    @Test func aFileThatIsNotUTF8() throws {
        let sim = try BuiltCommand("sim")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = scratch.file("latin1.yaml")
        try Data(Array("name: caf".utf8) + [0xE9] + Array("\n".utf8)).write(to: URL(fileURLWithPath: file))
        let outcome = try sim.run([file])
        #expect(outcome.status == 2)
        #expect(outcome.stderr == "\(file):1:10: the file is not UTF-8 text: byte 0xE9 is not valid UTF-8 (save the file as UTF-8)\n")
    }

    @Test func aBoundIsExitTwoWithItsLine() throws {
        let sim = try BuiltCommand("sim")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = try scratch.write("huge.yaml", try Self.scenario(replacing: [("requests: 100\n", "requests: 1000000000\n")]))
        let outcome = try sim.run([file])
        #expect(outcome.status == 2)
        #expect(outcome.stderr == "\(file):108:17: steps[0].load.requests: must be between 1 and 1000000 (the limit of requests per load), found 1000000000\n")
    }

    @Test func outputPathsAreCheckedBeforeTheRun() throws {
        let sim = try BuiltCommand("sim")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = try scratch.write("tiny.yaml", try Self.scenario())
        let directory = try sim.run([file, "--html", scratch.path])
        #expect(directory.status == 2)
        #expect(directory.stderr == "sim: --html \(scratch.path): is a directory; give a file path such as \(scratch.path)/report.html\n")
        #expect(directory.stdout.isEmpty, "nothing runs before the paths are checked")

        let missing = scratch.file("no-such-dir/report.json")
        let noParent = try sim.run([file, "--json", missing])
        #expect(noParent.status == 2)
        #expect(noParent.stderr == "sim: --json \(missing): the directory \(scratch.file("no-such-dir")) does not exist\n")

        let underFile = file + "/report.json"
        let fileParent = try sim.run([file, "--json", underFile])
        #expect(fileParent.status == 2)
        #expect(fileParent.stderr == "sim: --json \(underFile): \(file) is not a directory\n")
    }

    /// As root every directory is writable, so the unwritable case runs as `nobody` (setpriv).
    @Test func anUnwritableDirectory() throws {
        let sim = try BuiltCommand("sim")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = try scratch.write("tiny.yaml", try Self.scenario())
        let locked = scratch.file("locked")
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o555])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        let report = locked + "/report.json"
        let outcome: BuiltCommand.Outcome
        if geteuid() == 0 {
            let setpriv = try BuiltCommand.system("setpriv")
            outcome = try setpriv.run(["--reuid=65534", "--regid=65534", "--clear-groups", sim.path, file, "--json", report])
        } else {
            outcome = try sim.run([file, "--json", report])
        }
        #expect(outcome.status == 2)
        #expect(outcome.stderr == "sim: --json \(report): cannot write in \(locked): permission denied\n")
    }

    @Test func aRunStoppedAtTheHourOfVirtualTime() throws {
        let sim = try BuiltCommand("sim")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        // An app that takes two hours to answer: each request ends at the sidecar's 60 s route
        // timeout, two at a time, so 200 of them reach the simulator's hour with the load still going.
        let file = try scratch.write("slow.yaml", try Self.scenario(replacing: [("serviceTime: 1ms", "serviceTime: 2h"), ("requests: 100", "requests: 200")]))
        let outcome = try sim.run([file, "--quiet"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr == "\(file): the run was stopped at 1h of virtual time (the simulator's limit) with work still pending; give the scenario a duration or its loads fewer requests\n")
    }
}

extension BuiltCommand {
    /// A system executable by name, from the usual directories.
    static func system(_ name: String) throws -> BuiltCommand {
        let found = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        return BuiltCommand(path: try #require(found, "\(name) is not installed"))
    }
}
