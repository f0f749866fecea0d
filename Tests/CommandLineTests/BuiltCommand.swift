import Foundation
import MeshTesting
import Testing

/// A product executable of this package (`sim`, `fsm`) run as a user runs it: arguments in, exit
/// status and both output streams back.
struct BuiltCommand {
    var path: String

    init(path: String) {
        self.path = path
    }

    /// The executable sits next to the test bundle in the build directory (`swift build
    /// --build-tests` builds every product); the package's own `.build/debug` is the fallback.
    init(_ name: String, filePath: String = #filePath) throws {
        var candidates: [URL] = []
        if let bundleDirectory = Bundle.main.executableURL?.deletingLastPathComponent() { candidates.append(bundleDirectory) }
        if let first = CommandLine.arguments.first { candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent()) }
        for bundle in Bundle.allBundles { candidates.append(bundle.bundleURL.deletingLastPathComponent()) }
        let packageRoot = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        let found = candidates.map { $0.appendingPathComponent(name).path }.first { FileManager.default.isExecutableFile(atPath: $0) }
        path = try #require(found, "the \(name) executable is not in the build directory (swift build --build-tests builds it)")
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs to completion (at most `timeout` seconds, then it is stopped and the run throws).
    /// `environment` entries replace the inherited ones of the same name.
    func run(_ arguments: [String], in directory: String? = nil, timeout: Double = 60, environment: [String: String] = [:]) throws -> Outcome {
        let outcome = try TestExecutables.run(path, arguments, in: directory, environment: environment, timeout: .milliseconds(Int(timeout * 1000)))
        return Outcome(status: outcome.status, stdout: outcome.stdout, stderr: outcome.stderr)
    }
}

/// A directory under the system's temporary directory, removed when the test ends.
struct ScratchDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("cli-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try Data(text.utf8).write(to: URL(fileURLWithPath: file(name)))
        return file(name)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
