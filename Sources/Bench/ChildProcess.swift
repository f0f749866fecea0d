import Foundation
import MeshBenchKit

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
    let process = Process()
    let logPath: String
    /// Our sidecar's admin port (`http://host:port`), whose `/stats` the runs read; nil for the peers.
    var admin: String?

    init(name: String, executable: String, arguments: [String], logDirectory: URL) throws {
        self.name = name
        logPath = logDirectory.appendingPathComponent("\(name).log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
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
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        for _ in 0..<40 where process.isRunning { usleep(50_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    func logTail() -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "" }
        return String(text.suffix(800))
    }
}

/// Runs a command to completion, returning its exit status and output.
func runCommand(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    do { try process.run() } catch { return (-1, "\(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
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
