import Foundation
import MeshShell
import MeshTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `fsm sidecar --config FILE` as it starts: no file or a bad one stops it with the reason (there
/// is no last good config to keep yet); without `--log-level` it logs at the level its config
/// names (MeshConfig's `spec.sidecar.logLevel`, `Spec.SidecarLogLevel`). Addresses: a leased block (`TestAddressBlock.suite`).
@Suite struct SidecarStartTests {
    /// `127.61.<leased>.n`.
    static func address(_ host: Int) throws -> String { try TestAddressBlock.suite("SidecarStartTests").address(host) }

    static func config(logLevel: String) -> String {
        #"{"Spec": {"ServiceIdentity": "web.shop.cluster.local", "SidecarLogLevel": "\#(logLevel)"}}"#
    }

    @Test func missingConfigFileStopsTheStart() throws {
        let outcome = try BuiltCommand("fsm").run(["sidecar", "--config", "/nonexistent.json", "--pod-ip", try Self.address(1), "--insecure-plaintext-peers"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasSuffix("Error: --config /nonexistent.json: no such file; the sidecar needs a config to start\n"))
        #expect(!outcome.stderr.contains("last good config"))
    }

    @Test func configThatIsNotAConfigStopsTheStart() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = try scratch.write("config.json", "{}")
        let outcome = try BuiltCommand("fsm").run(["sidecar", "--config", file, "--pod-ip", try Self.address(2), "--insecure-plaintext-peers"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasSuffix("Error: --config \(file): not a sidecar config: Spec: missing; the sidecar needs a config to start\n"))
    }

    @Test func anAccessLogThatCannotBeOpenedStopsTheStart() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = try scratch.write("config.json", Self.config(logLevel: "error"))
        let outcome = try BuiltCommand("fsm").run(["sidecar", "--config", file, "--pod-ip", try Self.address(6), "--insecure-plaintext-peers",
                                                  "--access-log", "/nonexistent-dir/access.log"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasSuffix("Error: cannot open the access log /nonexistent-dir/access.log for writing\n"), "\(outcome.stderr)")
    }

    /// The same sidecar run three times: the config says debug (the start-up lines show), then
    /// error (they do not, though it ran past its start: it exits by itself on SIGTERM, after the
    /// start-up line would have been written); `--log-level info` wins over the config's error.
    @Test func logLevelComesFromTheConfigUnlessGiven() throws {
        let debug = try runAndStop(configLevel: "debug", arguments: [], ip: try Self.address(3), readyText: "sidecar started")
        #expect(debug.stderr.contains("sidecar started"), "\(debug.stderr)")
        let quiet = try runAndStop(configLevel: "error", arguments: [], ip: try Self.address(4), readyText: nil)
        #expect(quiet.exitedByItself, "\(quiet.stderr)")
        #expect(!quiet.stderr.contains("sidecar started"), "\(quiet.stderr)")
        #expect(!quiet.stderr.contains("draining before exit"), "\(quiet.stderr)")
        let given = try runAndStop(configLevel: "error", arguments: ["--log-level", "info"], ip: try Self.address(5), readyText: "sidecar started")
        #expect(given.exitedByItself, "\(given.stderr)")
        #expect(given.stderr.contains("draining before exit"), "\(given.stderr)")
    }

    /// Starts the sidecar, waits for `readyText` on its standard error (or, without one, for its
    /// admin port and a second more), stops it with SIGTERM; its standard error, and whether it
    /// exited on its own (it had installed its signal handler) rather than by the signal.
    private func runAndStop(configLevel: String, arguments: [String], ip: String, readyText: String?) throws -> (stderr: String, exitedByItself: Bool) {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let config = try scratch.write("config.json", Self.config(logLevel: configLevel))
        let errPath = scratch.file("stderr")
        let process = try SpawnedProcess.spawn(ProcessLaunch(try BuiltCommand("fsm").path,
                                                             ["sidecar", "--config", config, "--pod-ip", ip, "--insecure-plaintext-peers"] + arguments,
                                                             standardOutput: .null, standardError: .file(errPath, append: false)))
        defer { if process.isRunning { process.terminate() } }
        func stderr() -> String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
        func ready() -> Bool { readyText.map { stderr().contains($0) } ?? Self.accepts(host: ip, port: 15000) }
        let deadline = ContinuousClock.now + .seconds(30)
        while !ready(), process.isRunning, ContinuousClock.now < deadline { usleep(50_000) }
        try #require(process.isRunning && ready(), "the sidecar did not start: \(stderr())")
        // The signal handler is installed right after the start-up line.
        usleep(readyText == nil ? 1_000_000 : 300_000)
        process.send(SIGTERM)
        guard case .exited = process.wait() else { return (stderr(), false) }
        return (stderr(), true)
    }

    static func accepts(host: String, port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
