import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `fsm sidecar --config FILE` as it starts: no file or a bad one stops it with the reason (there
/// is no last good config to keep yet); without `--log-level` it logs at the level its config
/// names (MeshConfig's `spec.sidecar.logLevel`, `Spec.SidecarLogLevel`). Addresses: 127.61.1.x.
@Suite struct SidecarStartTests {
    static func config(logLevel: String) -> String {
        #"{"Spec": {"ServiceIdentity": "web.shop.cluster.local", "SidecarLogLevel": "\#(logLevel)"}}"#
    }

    @Test func missingConfigFileStopsTheStart() throws {
        let outcome = try BuiltCommand("fsm").run(["sidecar", "--config", "/nonexistent.json", "--pod-ip", "127.61.1.1", "--insecure-plaintext-peers"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasSuffix("Error: --config /nonexistent.json: no such file; the sidecar needs a config to start\n"))
        #expect(!outcome.stderr.contains("last good config"))
    }

    @Test func configThatIsNotAConfigStopsTheStart() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = try scratch.write("config.json", "{}")
        let outcome = try BuiltCommand("fsm").run(["sidecar", "--config", file, "--pod-ip", "127.61.1.2", "--insecure-plaintext-peers"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasSuffix("Error: --config \(file): not a sidecar config: Spec: missing; the sidecar needs a config to start\n"))
    }

    /// The same sidecar run twice: the config says debug (the start-up lines show), then error
    /// (they do not); `--log-level info` wins over the config's error.
    @Test func logLevelComesFromTheConfigUnlessGiven() throws {
        let debug = try runUntilReady(configLevel: "debug", arguments: [], ip: "127.61.1.3")
        #expect(debug.contains("sidecar started"), "\(debug)")
        let quiet = try runUntilReady(configLevel: "error", arguments: [], ip: "127.61.1.4")
        #expect(!quiet.contains("sidecar started"), "\(quiet)")
        #expect(!quiet.contains("draining before exit"), "\(quiet)")
        let given = try runUntilReady(configLevel: "error", arguments: ["--log-level", "info"], ip: "127.61.1.5")
        #expect(given.contains("sidecar started"), "\(given)")
        #expect(given.contains("draining before exit"), "\(given)")
    }

    /// Starts the sidecar, waits for its admin port, stops it with SIGTERM; its standard error.
    private func runUntilReady(configLevel: String, arguments: [String], ip: String) throws -> String {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let config = try scratch.write("config.json", Self.config(logLevel: configLevel))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try BuiltCommand("fsm").path)
        process.arguments = ["sidecar", "--config", config, "--pod-ip", ip, "--insecure-plaintext-peers"] + arguments
        let errPath = scratch.file("stderr")
        FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate(); process.waitUntilExit() } }
        let deadline = Date().addingTimeInterval(20)
        while !Self.accepts(host: ip, port: 15000), process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        try #require(process.isRunning, "the sidecar exited: \((try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")")
        // The admin port is bound just before the start-up line and the signal handler.
        Thread.sleep(forTimeInterval: 0.3)
        process.terminate()
        process.waitUntilExit()
        return (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
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
