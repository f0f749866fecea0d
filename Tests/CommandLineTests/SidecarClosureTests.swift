import Foundation
import MeshShell
import MeshTesting
import Testing

/// What the built `fsm-sidecar` links (issue 11 item 3, DECISIONS 253-254): no YAML parser, and none
/// of Foundation and FoundationInternationalization (which bring ICU and its data) — only
/// FoundationEssentials, which async-http-client, swift-certificates and swift-crypto use on Linux.
/// Checked on the executable itself (its symbols and its dynamic section), with `fsm` as the proof
/// that each check sees what it looks for. `scripts/sidecar-memory.py --check-closure` makes the
/// same check on the static release binary.
@Suite struct SidecarClosureTests {
    static let nm = "/usr/bin/nm"
    static let readelf = "/usr/bin/readelf"
    static let toolsAvailable = [nm, readelf].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }

    /// The sidecar's own modules (Package.swift: `fsm-sidecar` and what it links of this package).
    static let closureDirectories = ["SidecarMain", "SidecarCommand", "Runtime", "Model", "Identity", "Shell", "Proxy", "Redirect",
                                     "Interceptor", "InterceptorBPF"]
    /// The files of the closure that may still import Foundation: the users of Foundation's `Process`,
    /// which the spawn work replaces with posix_spawn (docs/DECISIONS.md 254).
    static let processUsers: Set<String> = ["Shell/ToolProcess.swift", "Runtime/IptablesCapture.swift"]

    @Test(.enabled(if: toolsAvailable, "needs binutils' nm"))
    func theSidecarLinksNoYAMLParser() throws {
        let yams = { (binary: String) throws -> Int in
            try Self.definedSymbols(of: binary).count { $0.hasPrefix("$s4Yams") || $0.hasPrefix("yaml_parser_") }
        }
        // `fsm` decodes manifests with Yams: the check finds it there.
        #expect(try yams(BuiltCommand("fsm").path) > 0)
        #expect(try yams(BuiltCommand("fsm-sidecar").path) == 0)
    }

    @Test(.enabled(if: toolsAvailable, "needs binutils' readelf"))
    func theSidecarLinksNoFoundationBeyondEssentials() throws {
        let fullFoundation: Set<String> = ["libFoundation.so", "libFoundationInternationalization.so", "lib_FoundationICU.so"]
        #expect(try !Self.neededLibraries(of: BuiltCommand("fsm").path).isDisjoint(with: fullFoundation))
        let needed = try Self.neededLibraries(of: BuiltCommand("fsm-sidecar").path)
        let importers = try Self.foundationImporters()
        #expect(importers.isSubset(of: Self.processUsers), "files of the sidecar's closure that import Foundation: \(importers.sorted())")
        withKnownIssue("Foundation's Process in \(importers.sorted()) (the spawn work replaces it)") {
            #expect(needed.isDisjoint(with: fullFoundation), "fsm-sidecar needs \(needed.intersection(fullFoundation).sorted())")
        } when: {
            !importers.isEmpty
        }
    }

    /// A sidecar whose config names no collector (no tracing, no remote access log) starts no
    /// thread of NIO's singleton loop group: the HTTP client the reporters would post with is made
    /// at their first batch (DECISIONS 255). Its threads: its event loop, the process's main
    /// thread, Dispatch's for the signal handlers.
    @Test func aSidecarWithoutCollectorsStartsNoSingletonLoopThreads() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let config = try scratch.write("config.json", #"{"Spec": {"ServiceIdentity": "web.shop.cluster.local"}}"#)
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let host = block.address(1)
        var threads: [String] = []
        let outcome = try LifecycleCommandTests.stop(["--config", config, "--pod-ip", host, "--insecure-plaintext-peers"], command: "fsm-sidecar",
                                                     with: SIGTERM, once: {
            guard LifecycleCommandTests.listening(host, 15001), let pid = Self.process(running: config) else { return false }
            threads = Self.threadNames(pid)
            return true
        })
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(threads.contains { $0.hasPrefix("NIO-ELT") }, "\(threads)")
        #expect(!threads.contains { $0.hasPrefix("NIO-SGLTN") }, "\(threads)")
    }

    /// The process whose command line names `argument`.
    static func process(running argument: String) -> Int32? {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let line = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            if line.split(separator: 0).contains(where: { String(decoding: $0, as: UTF8.self) == argument }) { return pid }
        }
        return nil
    }

    /// The names of the threads of process `pid` (`/proc/PID/task/*/comm`).
    static func threadNames(_ pid: Int32) -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { task in
            (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// The names of the symbols `binary` defines.
    static func definedSymbols(of binary: String) throws -> [Substring] {
        let outcome = try BuiltCommand(path: nm).run(["--defined-only", "--format=just-symbols", binary], timeout: 120)
        try #require(outcome.status == 0, "nm \(binary): \(outcome.stderr)")
        return outcome.stdout.split(separator: "\n")
    }

    /// The shared libraries `binary`'s dynamic section names (`libFoundation.so`).
    static func neededLibraries(of binary: String) throws -> Set<String> {
        let outcome = try BuiltCommand(path: readelf).run(["--dynamic", binary])
        try #require(outcome.status == 0, "readelf \(binary): \(outcome.stderr)")
        return Set(outcome.stdout.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("(NEEDED)"), let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        })
    }

    /// The closure's files with a plain `import Foundation` (not the `#else` of a
    /// `#if canImport(FoundationEssentials)`), as `Shell/ToolProcess.swift`.
    static func foundationImporters(filePath: String = #filePath) throws -> Set<String> {
        let sources = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Mesh")
        var importers: Set<String> = []
        for directory in closureDirectories {
            let files = try FileManager.default.contentsOfDirectory(atPath: sources.appendingPathComponent(directory).path)
            for file in files where file.hasSuffix(".swift") {
                let text = try String(contentsOf: sources.appendingPathComponent(directory).appendingPathComponent(file), encoding: .utf8)
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                let plain = lines.indices.contains { lines[$0].hasSuffix("import Foundation") && ($0 == 0 || lines[$0 - 1] != "#else") }
                if plain { importers.insert(directory + "/" + file) }
            }
        }
        return importers
    }
}
