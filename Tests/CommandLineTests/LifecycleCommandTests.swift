import Foundation
import MeshShell
import MeshTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The long-running commands stop cleanly on SIGTERM and SIGINT (swift-service-lifecycle's
/// graceful shutdown): exit status 0, nothing on standard error but their own log lines.
/// Addresses: a leased block (`TestAddressBlock.suite`): the controller's 6060 and the sidecar's ports are fixed.
@Suite struct LifecycleCommandTests {
    /// `127.61.<leased>.n`.
    static func address(_ host: Int) throws -> String { try TestAddressBlock.suite("LifecycleCommandTests").address(host) }

    /// Starts `fsm arguments`, waits until `ready` answers, sends `signal`, and returns the exit
    /// status and standard error (the process is killed after `timeout` seconds).
    static func stop(_ arguments: [String], command: String = "fsm", with signalNumber: Int32, once ready: () -> Bool,
                     timeout: Double = 20) throws -> (status: Int32, stderr: String) {
        let fsm = try BuiltCommand(command)
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let errors = scratch.file("stderr")
        let process = try SpawnedProcess.spawn(ProcessLaunch(fsm.path, arguments, standardOutput: .null, standardError: .file(errors, append: false)))
        defer { if process.isRunning { process.terminate() } }
        let start = ContinuousClock.now
        let limit = Duration.milliseconds(Int(timeout * 1000))
        while !ready() && process.isRunning && ContinuousClock.now - start < limit { usleep(50_000) }
        #expect(process.isRunning, "exited before it was ready: \((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")")
        process.send(signalNumber)
        let stopAt = ContinuousClock.now
        while process.isRunning && ContinuousClock.now - stopAt < limit { usleep(50_000) }
        process.send(SIGKILL)
        return (process.wait().shellStatus, (try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")
    }

    /// Whether something accepts connections on `host:port`.
    static func listening(_ host: String, _ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func theControllerStopsCleanlyOnASignal(_ signalNumber: Int32) throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let host = try Self.address(signalNumber == SIGTERM ? 1 : 2)
        let outcome = try Self.stop(["controller", "--manifests", scratch.path, "--state-dir", scratch.path + "/state", "--listen", "\(host):6060",
                                     "--log-level", "warning"], with: signalNumber, once: { Self.listening(host, 6060) })
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.isEmpty, "\(outcome.stderr)")
    }

    @Test func aSidecarDrainsAndStopsOnSIGTERM() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let config = try scratch.write("config.json", #"{"Spec": {"ServiceIdentity": "web.shop.cluster.local"}}"#)
        let host = try Self.address(3)
        let outcome = try Self.stop(["sidecar", "--config", config, "--pod-ip", host, "--insecure-plaintext-peers", "--log-level", "info"],
                                    with: SIGTERM, once: { Self.listening(host, 15001) })
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("draining before exit"), "\(outcome.stderr)")
    }

    /// `fsm-sidecar` is `fsm sidecar` alone: the same options with or without the `sidecar` word
    /// (the injector's `<binary> sidecar …` command line), the same drain on SIGTERM.
    @Test(arguments: [4, 5])
    func theSidecarAloneRunsAndDrainsLikeFSMSidecar(_ hostNumber: Int) throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let config = try scratch.write("config.json", #"{"Spec": {"ServiceIdentity": "web.shop.cluster.local"}}"#)
        let host = try Self.address(hostNumber)
        let options = ["--config", config, "--pod-ip", host, "--insecure-plaintext-peers", "--log-level", "info"]
        let outcome = try Self.stop(hostNumber == 4 ? options : ["sidecar"] + options, command: "fsm-sidecar",
                                    with: SIGTERM, once: { Self.listening(host, 15001) })
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("sidecar started"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("draining before exit"), "\(outcome.stderr)")
    }

    @Test func theSidecarAloneRefusesBadOptionsInOneLine() throws {
        let outcome = try BuiltCommand("fsm-sidecar").run(["--config", "c.json"])
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("Error: --config needs --pod-ip"), "\(outcome.stderr)")
    }
}
