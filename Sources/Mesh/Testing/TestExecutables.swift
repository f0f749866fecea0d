import Foundation

/// Where the package's executables are when a test runs: beside the test bundle in the build
/// directory (`swift build --build-tests` builds every product), else the package's `.build/debug`.
public enum TestExecutables {
    /// The path of executable `name`, nil when it was not built. `filePath` is a file three levels
    /// below the package root (`Tests/<Target>/<File>.swift`).
    public static func path(of name: String, filePath: String = #filePath) -> String? {
        var candidates: [URL] = []
        if let bundleDirectory = Bundle.main.executableURL?.deletingLastPathComponent() { candidates.append(bundleDirectory) }
        if let first = CommandLine.arguments.first { candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent()) }
        for bundle in Bundle.allBundles { candidates.append(bundle.bundleURL.deletingLastPathComponent()) }
        let packageRoot = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        return candidates.map { $0.appendingPathComponent(name).path }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
