import Foundation
import MeshBenchKit
import MeshShell

/// Log lines of the data-plane benchmark go to stderr; results go to files and stdout.
enum DataPlaneLog {
    static func info(_ message: String) {
        FileHandle.standardError.write(Data(("[bench] " + message + "\n").utf8))
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data(("bench: " + message + "\n").utf8))
        exit(1)
    }
}

/// A process the benchmark started (a proxy or the upstream), with the /proc figures it reports.
final class ChildProcess: @unchecked Sendable {
    let name: String
    let process: SpawnedProcess
    let logPath: String
    /// Our sidecar's admin port (`http://host:port`), whose `/stats` the runs read; nil for the peers.
    var admin: String?

    init(name: String, executable: String, arguments: [String], logDirectory: URL) throws {
        self.name = name
        logPath = logDirectory.appendingPathComponent("\(name).log").path
        process = try SpawnedProcess.spawn(ProcessLaunch(executable, arguments, standardInput: .null,
                                                         standardOutput: .file(logPath, append: false), standardError: .standardOutput))
    }

    var pid: Int32 { process.pid }
    var isRunning: Bool { process.isRunning }

    /// utime + stime of the process (all its threads), seconds.
    func cpuSeconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let ticks = ProcessUsage.cpuTicks(statText: text) else { return nil }
        return Double(ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// VmHWM: the peak resident set since start or since `resetPeak()`.
    func peakRSSKiB() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return ProcessUsage.kibibytes("VmHWM", statusText: text)
    }

    /// Resets VmHWM to the current RSS (`echo 5 > /proc/PID/clear_refs`), so a run's peak is its own.
    func resetPeak() {
        try? "5".write(toFile: "/proc/\(pid)/clear_refs", atomically: false, encoding: .utf8)
    }

    /// SIGTERM, then SIGKILL if it is still there after two seconds.
    func stop() {
        process.terminate(grace: .seconds(2))
    }

    func logTail() -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "" }
        return String(text.suffix(800))
    }
}

/// Runs a command to completion, returning its exit status and output (standard error with it).
func runCommand(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
    do {
        let completion = try SpawnedProcess.run(ProcessLaunch(executable, arguments, standardOutput: .pipe, standardError: .standardOutput))
        return (completion.termination.shellStatus, completion.outputText)
    } catch {
        return (-1, error.description)
    }
}

/// The first executable named `name` on PATH (or the path itself when it contains a slash).
func findExecutable(_ name: String) -> String? {
    if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
        let path = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}
