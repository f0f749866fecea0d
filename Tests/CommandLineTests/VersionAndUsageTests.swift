import Foundation
import Testing

/// What a newcomer types first: `--version`, `--help`, a log level spelled as FSM spells it, and
/// the exit status of a usage error, per binary (README, "Exit status"). Addresses: 127.61.0.x.
@Suite struct VersionAndUsageTests {
    /// The version every binary prints with `--version`: one line on standard output, status 0.
    static let version = "0.10.0\n"

    @Test(arguments: ["sim", "fsm", "sim-real", "bench"])
    func versionFlag(_ binary: String) throws {
        let outcome = try BuiltCommand(binary).run(["--version"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout == Self.version)
        #expect(outcome.stderr.isEmpty)
    }

    @Test func fsmVersionSubcommandAgreesWithTheFlag() throws {
        let outcome = try BuiltCommand("fsm").run(["version"])
        #expect(outcome.stdout == "CLI Version: " + Self.version)
    }

    /// `sim`: usage errors exit 2 (the scenario contract's "invalid file or arguments").
    @Test func simUsageErrorExitsTwo() throws {
        let outcome = try BuiltCommand("sim").run(["--seed", "x", "scenarios/canary.yaml"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.hasPrefix("Error: The value 'x' is invalid for '--seed <seed>'\n"))
    }

    /// `fsm`: ArgumentParser's convention, 64 (EX_USAGE) for usage, 1 for a command that failed.
    @Test func fsmUnknownLogLevelIsAUsageError() throws {
        let outcome = try BuiltCommand("fsm").run(["controller", "--manifests", "/", "--log-level", "loud"])
        #expect(outcome.status == 64)
        #expect(outcome.stderr.hasPrefix("Error: --log-level: unknown level \"loud\"; expected trace, debug, info, notice, warn, warning, error or critical\n"))
    }

    /// FSM's MeshConfig spells it `warn`: accepted (the controller then fails for another reason,
    /// a port already taken, after the level was read).
    @Test(arguments: ["warn", "warning", "WARN"])
    func fsmAcceptsWarn(_ level: String) throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let busy = try HeldListener(host: "127.61.0.1")
        defer { busy.close() }
        let outcome = try BuiltCommand("fsm").run(["controller", "--manifests", scratch.path, "--state-dir", scratch.file("state"),
                                                   "--listen", "127.61.0.1:\(busy.port)", "--log-level", level])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasSuffix("Error: cannot listen on 127.61.0.1:\(busy.port): address already in use (another fsm controller or fsm up? Stop it or give --listen another address)\n"))
    }

    @Test func simRealTakesTheSameLevels() throws {
        let outcome = try BuiltCommand("sim-real").run(["x.yaml", "--sidecar-logs", "loud"])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.hasPrefix("Error: --sidecar-logs: unknown level \"loud\"; expected trace, debug, info, notice, warn, warning, error or critical\n"))
    }
}
