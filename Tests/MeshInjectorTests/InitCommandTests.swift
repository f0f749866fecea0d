import Foundation
import MeshTesting
import Testing

/// `fsm init`, the injected init container's command, through the binary.
@Suite(.timeLimit(.minutes(1)))
struct InitCommandTests {
    /// `fsm` sits next to the test bundle in the build directory (`swift test` builds every product).
    static func fsmPath(filePath: String = #filePath) -> String? {
        var candidates: [URL] = []
        if let first = CommandLine.arguments.first { candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent()) }
        for bundle in Bundle.allBundles { candidates.append(bundle.bundleURL.deletingLastPathComponent()) }
        let root = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug"))
        return candidates.map { $0.appendingPathComponent("fsm").path }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func fsm(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let outcome = try TestExecutables.run(try #require(fsmPath(), "the fsm executable is not in the build directory"), arguments)
        return (outcome.status, outcome.stdout, outcome.stderr)
    }

    /// The arguments the webhook gave the `exclusions` fixture pod's init container.
    @Test func dryRunPrintsTheRulesForAPodWithExclusions() throws {
        let result = try Self.fsm([
            "init", "--dry-run",
            "--outbound-ip-range-exclusion-list", "169.254.169.254/32,10.244.0.0/16,10.96.0.0/16",
            "--outbound-ip-range-inclusion-list", "10.0.0.0/8",
            "--outbound-port-exclusion-list", "6379,7070",
            "--inbound-port-exclusion-list", "9090",
        ])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output == """
        # swift-mesh sidecar traffic capture
        *nat
        :PROXY_INBOUND - [0:0]
        :PROXY_IN_REDIRECT - [0:0]
        :PROXY_OUTPUT - [0:0]
        :PROXY_REDIRECT - [0:0]
        -A PROXY_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15003
        -A PREROUTING -p tcp -j PROXY_INBOUND
        -A PROXY_INBOUND -p tcp -m multiport --dports 15000,15010,15901,15902,15903,15904 -j RETURN
        -A PROXY_INBOUND -p tcp --dport 9090 -j RETURN
        -A PROXY_INBOUND -p tcp -j PROXY_IN_REDIRECT
        -A PROXY_REDIRECT -p tcp -j REDIRECT --to-ports 15001
        -A OUTPUT -p tcp -j PROXY_OUTPUT
        -A PROXY_OUTPUT -o lo ! -d 127.0.0.1/32 -m owner --uid-owner 1500 -j PROXY_IN_REDIRECT
        -A PROXY_OUTPUT -o lo -m owner ! --uid-owner 1500 -j RETURN
        -A PROXY_OUTPUT -m owner --uid-owner 1500 -j RETURN
        -A PROXY_OUTPUT -d 127.0.0.1/32 -j RETURN
        -A PROXY_OUTPUT -p tcp -m multiport --dports 15000,15010,15901,15902,15903,15904 -j RETURN
        -A PROXY_OUTPUT -d 169.254.169.254/32 -j RETURN
        -A PROXY_OUTPUT -d 10.244.0.0/16 -j RETURN
        -A PROXY_OUTPUT -d 10.96.0.0/16 -j RETURN
        -A PROXY_OUTPUT -p tcp -m multiport --dports 6379,7070 -j RETURN
        -A PROXY_OUTPUT -d 10.0.0.0/8 -j PROXY_REDIRECT
        -A PROXY_OUTPUT -j RETURN
        COMMIT

        """)
    }

    @Test func aBadListItemIsOneLineNamingTheFlag() throws {
        let result = try Self.fsm(["init", "--dry-run", "--outbound-port-exclusion-list", "6379,http"])
        #expect(result.status != 0)
        #expect(result.output.isEmpty)
        #expect(result.errors.contains("Error: --outbound-port-exclusion-list: \"http\" is not a port number between 1 and 65535\n"), "\(result.errors)")
    }

    static let captureUnavailable = CaptureTestEnvironment.unavailableReason(needing: ["ip", "iptables", "iptables-restore", "iptables-save"])

    /// What the init container does in a pod: the rules land in the pod's own nat table.
    @Test(.enabled(if: captureUnavailable == nil, Comment(rawValue: captureUnavailable ?? "root, iproute2 and iptables are available")))
    func initProgramsThePodsNatTable() throws {
        let namespace = try NetworkNamespace(purpose: "fsminit")
        defer { namespace.delete() }
        let fsm = try #require(Self.fsmPath(), "the fsm executable is not in the build directory")
        let result = try namespace.exec([fsm, "init", "--outbound-port-exclusion-list", "6379", "--inbound-port-exclusion-list", "9090"])
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(result.output == "traffic capture programmed: 14 rules in chains PROXY_INBOUND, PROXY_IN_REDIRECT, PROXY_OUTPUT, PROXY_REDIRECT\n")
        let table = try namespace.exec([try #require(CaptureTestEnvironment.tool("iptables-save")), "-t", "nat"]).output
        #expect(table.contains(":PROXY_OUTPUT"))
        #expect(table.contains("-A PROXY_INBOUND -p tcp -m tcp --dport 9090 -j RETURN"), "\(table)")
        #expect(table.contains("-A PROXY_OUTPUT -p tcp -m tcp --dport 6379 -j RETURN"), "\(table)")
        #expect(table.contains("-A PROXY_OUTPUT -m owner --uid-owner 1500 -j RETURN"), "\(table)")
        // Outside the namespace nothing changed.
        let host = try Command.run(try #require(CaptureTestEnvironment.tool("iptables-save")), ["-t", "nat"]).output
        #expect(!host.contains("--dport 9090 -j RETURN"))
    }
}
