import Foundation
import Testing

/// `fsm install` as a user runs it: `--dry-run` prints deploy/fsm.yaml, bad options are one line,
/// and the printed manifests pass kubernetes-validate and check-jsonschema (when the checkers'
/// virtual environment exists: scripts/setup-validate.sh, which `make test` runs first).
@Suite struct InstallCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let venvPython = root.appendingPathComponent(".build/validate-venv/bin/python").path
    static let haveCheckers = FileManager.default.isExecutableFile(atPath: root.appendingPathComponent(".build/validate-venv/bin/check-jsonschema").path)

    @Test func dryRunPrintsTheCommittedManifests() throws {
        let outcome = try BuiltCommand("fsm").run(["install", "--dry-run"])
        #expect(outcome.status == 0)
        #expect(outcome.stderr == "")
        let committed = try String(contentsOf: Self.root.appendingPathComponent("deploy/fsm.yaml"), encoding: .utf8)
        #expect(outcome.stdout == committed)
    }

    @Test(arguments: [
        (["install", "--dry-run", "--set", "fsm.enablePermisiveTrafficPolicy=true"],
         "Error: --set fsm.enablePermisiveTrafficPolicy=true: unknown key \"fsm.enablePermisiveTrafficPolicy\"; did you mean \"fsm.enablePermissiveTrafficPolicy\"?\n"),
        (["install", "--dry-run", "--mesh-name", "My_Mesh"],
         "Error: invalid mesh name \"My_Mesh\": the mesh-name must follow RFC 1123 DNS label constraints: contain at most 63 characters, contain only lowercase alphanumeric characters or '-', start with an alphanumeric character, and end with an alphanumeric character\n"),
        (["install", "--dry-run", "--set", "fsm.enableEgress=yes"],
         "Error: --set fsm.enableEgress=yes: fsm.enableEgress must be true or false, found \"yes\"\n"),
    ])
    func badOptionsAreOneLine(arguments: [String], message: String) throws {
        let outcome = try BuiltCommand("fsm").run(arguments)
        #expect(outcome.status == 1)
        #expect(outcome.stdout == "")
        #expect(outcome.stderr == message)
    }

    @Test func setValuesReachTheMeshConfig() throws {
        let outcome = try BuiltCommand("fsm").run(["install", "--dry-run", "--mesh-name", "mesh-a", "--fsm-namespace", "mesh-a-system",
                                                   "--set", "fsm.enablePermissiveTrafficPolicy=true,fsm.outboundPortExclusionList={6379,7070}"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout.contains("    enablePermissiveTrafficPolicyMode: true\n"))
        #expect(outcome.stdout.contains("    outboundPortExclusionList:\n    - 6379\n    - 7070\n"))
        #expect(outcome.stdout.contains("  namespace: mesh-a-system\n"))
        #expect(outcome.stdout.contains("      flomesh.io/monitored-by: mesh-a\n"))
    }

    @Test func versionPrintsTheClientVersion() throws {
        let outcome = try BuiltCommand("fsm").run(["version"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout.hasPrefix("CLI Version: "))
    }

    @Test(.enabled(if: haveCheckers, "needs kubernetes-validate and check-jsonschema in .build/validate-venv (scripts/setup-validate.sh; PyPI)"))
    func manifestsAndSamplesValidate() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        // eBPF interception adds the interceptor DaemonSet: validated with the rest.
        let rendered = try BuiltCommand("fsm").run(["install", "--dry-run", "--set", "fsm.enableEgress=true", "--set", "fsm.trafficInterceptionMode=ebpf"])
        let manifests = try scratch.write("fsm.yaml", rendered.stdout)
        let root = Self.root.path
        let outcome = try BuiltCommand(path: Self.venvPython).run(
            ["\(root)/scripts/validate-manifests.py", manifests, "\(root)/deploy/samples", "\(root)/scenarios"], timeout: 240)
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        #expect(outcome.stdout.contains("all manifests valid"))
        #expect(outcome.stdout.contains("check-jsonschema MeshConfig"))
        #expect(outcome.stdout.contains("check-jsonschema TrafficSplit"))
    }

    @Test(.enabled(if: haveCheckers, "needs kubernetes-validate and check-jsonschema in .build/validate-venv (scripts/setup-validate.sh; PyPI)"))
    func aWrongTypeIsRefusedByTheCRDSchema() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let manifests = try scratch.write("fsm.yaml", try BuiltCommand("fsm").run(["install", "--dry-run"]).stdout)
        let bad = try scratch.write("bad-meshconfig.yaml", """
            apiVersion: config.flomesh.io/v1alpha1
            kind: MeshConfig
            metadata:
              name: fsm-mesh-config
              namespace: fsm-system
            spec:
              traffic:
                enableEgress: "no"

            """)
        let outcome = try BuiltCommand(path: Self.venvPython).run(["\(Self.root.path)/scripts/validate-manifests.py", manifests, bad], timeout: 240)
        #expect(outcome.status == 1)
        #expect(outcome.stdout.contains("'no' is not of type 'boolean'"), "\(outcome.stdout)")
    }
}
