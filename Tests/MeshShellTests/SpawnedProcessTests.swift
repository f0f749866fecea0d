import Glibc
import MeshShell
import Testing

/// Child processes on posix_spawn, as the commands and tests start them: outputs, exit statuses
/// and signals, deadlines, one-line start failures, and what the child gets of this process.
@Suite(.timeLimit(.minutes(1)))
struct SpawnedProcessTests {
    static func shell(_ script: String, _ more: [String] = []) -> ProcessLaunch {
        ProcessLaunch("/bin/sh", ["-c", script] + more)
    }

    /// A fresh directory under /tmp, removed by the caller.
    static func scratch() throws -> String {
        var template = Array("/tmp/spawned-process-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        try #require(made != nil)
        return String(cString: made!)
    }

    static func remove(_ directory: String) {
        _ = try? SpawnedProcess.run(ProcessLaunch("/bin/rm", ["-rf", directory]))
    }

    static func read(_ path: String) throws -> String {
        String(decoding: try InputFile.read(path, limit: 1 << 20, directoryHint: "", tooLarge: { "\($0) bytes" }), as: UTF8.self)
    }

    @Test func bothOutputsAndTheExitStatusComeBack() throws {
        let completion = try SpawnedProcess.run(Self.shell("printf out; printf err >&2; exit 3"))
        #expect(completion.termination == .exited(3))
        #expect(completion.termination.description == "exit status 3")
        #expect(!completion.termination.succeeded)
        #expect(completion.outputText == "out")
        #expect(completion.errorText == "err")
        #expect(!completion.timedOut)
    }

    @Test func aSignalIsReportedAsTheSignal() throws {
        let completion = try SpawnedProcess.run(Self.shell("kill -TERM $$; sleep 5"))
        #expect(completion.termination == .signalled(SIGTERM))
        #expect(completion.termination.description == "signal 15 (SIGTERM)")
        #expect(completion.termination.shellStatus == 128 + 15)
    }

    @Test func aMissingExecutableIsOneLineNamingIt() throws {
        #expect(throws: SpawnFailure(executable: "/nonexistent/fsm-tool", reason: "no such file or directory")) {
            try SpawnedProcess.run(ProcessLaunch("/nonexistent/fsm-tool", ["x"]))
        }
        let directory = try Self.scratch()
        defer { Self.remove(directory) }
        let text = directory + "/not-a-program"
        try OutputFile.write(Array("just text\n".utf8), to: text, option: "file")
        do {
            _ = try SpawnedProcess.spawn(ProcessLaunch(text))
            Issue.record("a file that is not executable started")
        } catch {
            // No execute bit (0644): refused, for root as well.
            #expect(error.description == "cannot run \(text): permission denied")
        }
    }

    @Test func aMissingWorkingDirectoryOrLogIsOneLine() throws {
        do {
            _ = try SpawnedProcess.spawn(ProcessLaunch("/bin/true", workingDirectory: "/nonexistent/dir"))
            Issue.record("started in a missing directory")
        } catch {
            #expect(error.description == "cannot run /bin/true: the working directory /nonexistent/dir is not a directory")
        }
        do {
            _ = try SpawnedProcess.spawn(ProcessLaunch("/bin/true", standardOutput: .file("/nonexistent/dir/log", append: true)))
            Issue.record("started with a log it cannot write")
        } catch {
            #expect(error.description == "cannot run /bin/true: cannot open /nonexistent/dir/log: no such file or directory")
        }
    }

    @Test func pastItsDeadlineItIsTerminated() throws {
        let completion = try SpawnedProcess.run(ProcessLaunch("/bin/sleep", ["30"]), timeout: .milliseconds(200))
        #expect(completion.timedOut)
        #expect(completion.termination == .signalled(SIGTERM))
    }

    @Test func oneThatIgnoresSIGTERMIsKilledAfterTheGrace() throws {
        // An ignored signal stays ignored across exec: `sleep` ignores SIGTERM.
        let completion = try SpawnedProcess.run(Self.shell("trap '' TERM; exec /bin/sleep 30"), timeout: .milliseconds(200), grace: .milliseconds(300))
        #expect(completion.timedOut)
        #expect(completion.termination == .signalled(SIGKILL))
    }

    @Test func largeOutputsOnBothPipesAndLargeInputDoNotDeadlock() throws {
        // `cat` echoes 1 MiB of input while the script also writes 1 MiB to standard error: written
        // first and read after, either pipe (64 KiB) would fill and block the child for good.
        let input = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let completion = try SpawnedProcess.run(Self.shell("head -c 1048576 /dev/zero >&2 & cat; wait"), input: input, timeout: .seconds(30))
        #expect(completion.termination == .exited(0))
        #expect(completion.output == input)
        #expect(completion.errorOutput.count == 1 << 20)
        #expect(completion.errorOutput.allSatisfy { $0 == 0 })
    }

    @Test func inputTheChildDoesNotReadRaisesNoSIGPIPEHere() throws {
        let completion = try SpawnedProcess.run(ProcessLaunch("/bin/true"), input: [UInt8](repeating: 1, count: 1 << 20), timeout: .seconds(30))
        #expect(completion.termination == .exited(0))
    }

    @Test func theEnvironmentIsExactlyTheOneGiven() throws {
        let only = try SpawnedProcess.run(ProcessLaunch("/usr/bin/env", environment: ["ONLY": "one value"]))
        #expect(only.outputText == "ONLY=one value\n")
        let inherited = try SpawnedProcess.run(ProcessLaunch("/usr/bin/env", environment: ProcessLaunch.inheritedEnvironment(overriding: ["ADDED": "x"])))
        #expect(inherited.outputText.split(separator: "\n").contains("ADDED=x"))
        #expect(inherited.outputText.split(separator: "\n").contains { $0.hasPrefix("PATH=") } == (getenv("PATH") != nil))
    }

    @Test func theWorkingDirectoryIsTheOneGiven() throws {
        let directory = try Self.scratch()
        defer { Self.remove(directory) }
        let completion = try SpawnedProcess.run(ProcessLaunch("/bin/pwd", ["-P"], workingDirectory: directory))
        #expect(completion.outputText == directory + "\n")
    }

    @Test func theChildInheritsNoDescriptorBeyondTheStandardStreams() throws {
        // A descriptor without close-on-exec, as a listener of another suite in this process may be.
        let held = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(held >= 3)
        defer { close(held) }
        let completion = try SpawnedProcess.run(Self.shell("if [ -e /proc/$$/fd/\(held) ]; then echo held; else echo closed; fi"))
        #expect(completion.outputText == "closed\n")
    }

    @Test func filesTakeTheOutputsAppendedOrFromTheStart() throws {
        let directory = try Self.scratch()
        defer { Self.remove(directory) }
        let log = directory + "/log"
        for word in ["one", "two"] {
            let launch = ProcessLaunch("/bin/sh", ["-c", "echo \(word); echo \(word)-err >&2"], standardOutput: .file(log, append: true), standardError: .standardOutput)
            #expect(try SpawnedProcess.run(launch).termination == .exited(0))
        }
        #expect(try Self.read(log) == "one\none-err\ntwo\ntwo-err\n")
        let replaced = ProcessLaunch("/bin/echo", ["three"], standardOutput: .file(log, append: false), standardError: .null)
        #expect(try SpawnedProcess.run(replaced).termination == .exited(0))
        #expect(try Self.read(log) == "three\n")
        let fed = ProcessLaunch("/bin/cat", standardInput: .file(log))
        #expect(try SpawnedProcess.run(fed).outputText == "three\n")
    }

    @Test func aChildStartedFromAThreadWithSIGTERMBlockedStillGetsIt() async throws {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        let process = Result { try SpawnedProcess.spawn(ProcessLaunch("/bin/sleep", ["30"])) }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        let child = try process.get()
        #expect(await child.exit(within: .milliseconds(100)) == nil)
        #expect(child.isRunning)
        #expect(await child.stop(grace: .seconds(5)) == .signalled(SIGTERM))
        #expect(!child.isRunning)
        #expect(child.wait() == .signalled(SIGTERM))
    }

    /// The session of `pid` (/proc/PID/stat after the command name: state, ppid, pgrp, session).
    static func session(of pid: pid_t) throws -> Substring {
        let stat = try read("/proc/\(pid)/stat")
        let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
        return fields[3]
    }

    @Test func aNewSessionIsLedByTheChild() throws {
        let leader = try SpawnedProcess.spawn(ProcessLaunch("/bin/sleep", ["30"], newSession: true))
        defer { leader.terminate() }
        let member = try SpawnedProcess.spawn(ProcessLaunch("/bin/sleep", ["30"]))
        defer { member.terminate() }
        #expect(try Self.session(of: leader.pid) == "\(leader.pid)")
        #expect(try Self.session(of: member.pid) == "\(getsid(0))")
    }

    @Test func aGrandchildHoldingThePipesDoesNotHoldTheRun() throws {
        // The shell exits at once; the background `sleep` keeps its standard output open.
        let completion = try SpawnedProcess.run(Self.shell("/bin/sleep 4 & echo started"), timeout: .seconds(20))
        #expect(completion.termination == .exited(0))
        #expect(completion.outputText == "started\n")
        #expect(!completion.timedOut)
    }

    @Test func readingALongRunningChildsPipeAsItWrites() throws {
        let child = try SpawnedProcess.spawn(ProcessLaunch("/bin/sh", ["-c", "echo ready; read line; echo got $line"], standardInput: .pipe))
        let output = try #require(child.standardOutput)
        var seen: [UInt8] = []
        while !seen.contains(UInt8(ascii: "\n")) {
            if case .bytes(let chunk) = output.read(waitingAtMost: .seconds(5)) { seen += chunk } else { break }
        }
        #expect(String(decoding: seen, as: UTF8.self) == "ready\n")
        #expect(try #require(child.standardInput).writeAllAndClose(Array("hello\n".utf8)))
        #expect(String(decoding: output.readToEnd(), as: UTF8.self) == "got hello\n")
        #expect(child.wait() == .exited(0))
        #expect(output.read() == .end)
    }

    @Test func toolProcessCollectsWhatAToolSaid() throws {
        let outcome = try ToolProcess.run("/bin/sh", ["-c", "cat; echo warning >&2; exit 2"], input: "rules\n")
        #expect(outcome.output == "rules\n")
        #expect(outcome.errorOutput == "warning\n")
        #expect(outcome.status == 2)
    }
}
