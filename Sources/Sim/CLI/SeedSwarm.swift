#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import MeshModel
import MeshShell
import SimCore

/// Runs one scenario file once per seed, each seed in its own `sim` process (the simulator stays
/// single-threaded; more seeds at once is how it uses more cores), at most `jobs` at a time.
/// Each child runs exactly as `sim FILE --seed N --quiet --json PATH` would.
struct SeedSwarm {
    var executable: String
    var file: String
    var seeds: [UInt64]
    var jobs: Int
    var checkDeterminism: Bool

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    func run() throws(Problem) -> [SwarmReport.Run] {
        let scratch = try Self.makeScratchDirectory()
        defer { rmdir(scratch) }
        var pending = seeds[...]
        var running: [pid_t: UInt64] = [:]
        var runs: [SwarmReport.Run] = []
        runs.reserveCapacity(seeds.count)
        while !pending.isEmpty || !running.isEmpty {
            while running.count < jobs, let seed = pending.popFirst() {
                do throws(Problem) {
                    running[try spawn(seed: seed, scratch: scratch)] = seed
                } catch {
                    Self.stop(running.keys)
                    throw error
                }
            }
            guard let (pid, status) = Self.waitForChild() else {
                // No child left to wait for, though some were started: report them, do not spin.
                for seed in running.values { runs.append(collect(seed: seed, status: -1, scratch: scratch)) }
                running.removeAll()
                continue
            }
            guard let seed = running.removeValue(forKey: pid) else { continue }
            runs.append(collect(seed: seed, status: status, scratch: scratch))
        }
        return runs
    }

    private func reportPath(_ seed: UInt64, _ scratch: String) -> String { "\(scratch)/seed-\(seed).json" }
    private func errorPath(_ seed: UInt64, _ scratch: String) -> String { "\(scratch)/seed-\(seed).err" }

    private func spawn(seed: UInt64, scratch: String) throws(Problem) -> pid_t {
        var arguments = [file, "--seed", String(seed), "--quiet", "--json", reportPath(seed, scratch)]
        if checkDeterminism { arguments.append("--check-determinism") }
        // Standard error to a file in the 0700 scratch directory; nothing else of this process goes with it.
        let launch = ProcessLaunch(executable, arguments, standardInput: .null, standardOutput: .null,
                                   standardError: .file(errorPath(seed, scratch), append: false))
        do {
            // Reaped by `waitForChild` (waitpid(-1)), not through the dropped handle.
            return try SpawnedProcess.spawn(launch).pid
        } catch {
            throw Problem(description: "sim: cannot start \(executable) for seed \(seed): \(error.reason)")
        }
    }

    /// The seed's exit status, its report (nil when missing or not JSON) and its standard error;
    /// its files are removed.
    private func collect(seed: UInt64, status: Int32, scratch: String) -> SwarmReport.Run {
        let report = FileManager.default.contents(atPath: reportPath(seed, scratch))
            .flatMap { try? JSONValue(parsing: String(decoding: $0, as: UTF8.self)) }
        let message = FileManager.default.contents(atPath: errorPath(seed, scratch)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        unlink(reportPath(seed, scratch))
        unlink(errorPath(seed, scratch))
        return SwarmReport.Run(seed: seed, exitStatus: status, report: report,
                               message: message.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The next child to end: its pid, and its exit status (negative: the signal that killed it);
    /// nil when there is no child to wait for.
    private static func waitForChild() -> (pid_t, Int32)? {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, 0)
            if pid > 0 {
                let signal = status & 0x7F
                return (pid, signal == 0 ? (status >> 8) & 0xFF : -signal)
            }
            if errno != EINTR { return nil }
        }
    }

    private static func stop(_ pids: Dictionary<pid_t, UInt64>.Keys) {
        for pid in pids { kill(pid, SIGTERM) }
        for pid in pids { var status: Int32 = 0; waitpid(pid, &status, 0) }
    }

    /// A new 0700 directory for the children's reports.
    private static func makeScratchDirectory() throws(Problem) -> String {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("sim-swarm-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw Problem(description: "sim: cannot make a directory for the seeds' reports in \(NSTemporaryDirectory()): \(SystemErrorText.describe(errno: errno))")
        }
        return String(cString: made)
    }
}

/// `--seeds`: `N`, `A..B`, or a comma-separated list of them, each seed once, in ascending order.
enum SeedList {
    static let maximumCount = 10_000

    static func parse(_ text: String) throws(SeedSwarm.Problem) -> [UInt64] {
        var seeds = Set<UInt64>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.trimmingCharacters(in: .whitespaces).components(separatedBy: "..")
            guard (1...2).contains(bounds.count), let low = seed(bounds[0]), let high = seed(bounds[bounds.count - 1]), low <= high else {
                throw SeedSwarm.Problem(description: "--seeds: expected N, A..B (A <= B) or a comma-separated list of them (1..100,200) with seeds from 0 to \(Int64.max), found \"\(part)\"")
            }
            guard high - low < UInt64(maximumCount), seeds.count + Int(high - low) < maximumCount else { throw tooMany() }
            for value in low...high { seeds.insert(value) }
        }
        guard seeds.count <= maximumCount else { throw tooMany() }
        return seeds.sorted()
    }

    private static func seed(_ text: String) -> UInt64? {
        guard let value = UInt64(text), value <= UInt64(Int64.max) else { return nil }
        return value
    }

    private static func tooMany() -> SeedSwarm.Problem {
        SeedSwarm.Problem(description: "--seeds: at most \(maximumCount) seeds in one run")
    }
}
