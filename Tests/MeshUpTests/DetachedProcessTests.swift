import Foundation
import MeshUp
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A detached child takes nothing of its parent but the standard streams: a socket the parent has
/// open (a test process's listener, `fsm up`'s own files) is not the child's to hold.
@Suite(.timeLimit(.minutes(1)))
struct DetachedProcessTests {
    @Test func theChildInheritsNoDescriptorBeyondTheStandardStreams() async throws {
        let directory = try UpStateTests.temporaryDirectory("detached-fds")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A descriptor without close-on-exec, as a listener of another suite in this process may be.
        let held = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(held >= 3)
        defer { close(held) }
        let log = directory + "/child.log"
        let script = "if [ -e /proc/$$/fd/\(held) ]; then echo held; else echo closed; fi; echo stdout-open"
        let pid = try DetachedProcess.spawn("/bin/sh", ["-c", script], log: log)
        #expect(await DetachedProcess.waitForExit(pid: pid, timeout: .seconds(10)) == 0)
        #expect(try String(contentsOfFile: log, encoding: .utf8) == "closed\nstdout-open\n")
    }

    /// A log it cannot open is one line naming the program and the file, before anything starts.
    @Test func aLogThatCannotBeOpenedIsOneLine() throws {
        do {
            _ = try DetachedProcess.spawn("/bin/sh", ["-c", "true"], log: "/nonexistent/logs/child.log")
            Issue.record("started with a log it cannot open")
        } catch {
            #expect("\(error)" == "cannot start /bin/sh: cannot open /nonexistent/logs/child.log: no such file or directory")
        }
    }
}
