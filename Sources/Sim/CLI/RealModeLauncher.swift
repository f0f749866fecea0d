#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// `sim --real FILE...`: real mode lives in the `sim-real` executable (it needs SwiftNIO and the
/// sidecar runtime, which `sim` stays free of). This replaces the process with the `sim-real`
/// built beside the running `sim`, passing the arguments on.
enum RealModeLauncher {
    static let executableName = "sim-real"

    /// Only returns when `sim-real` could not be started (then with exit status 2).
    static func exec(_ arguments: [String]) -> Int32 {
        let directory = URL(fileURLWithPath: currentExecutablePath()).deletingLastPathComponent()
        let path = directory.appendingPathComponent(executableName).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            Console.error("sim: --real needs the \(executableName) executable beside sim (\(path)); build it with `swift build --product sim-real`")
            return ExitStatus.invalid
        }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        execv(path, argv)
        Console.error("sim: cannot start \(path): \(String(cString: strerror(errno)))")
        return ExitStatus.invalid
    }

    /// The running executable (symbolic links resolved), falling back to argv[0].
    static func currentExecutablePath() -> String {
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return resolved }
        if let path = Bundle.main.executablePath { return path }
        return CommandLine.arguments[0]
    }
}
