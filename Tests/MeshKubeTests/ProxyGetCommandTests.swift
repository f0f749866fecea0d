import Foundation
import MeshTesting
import Testing

/// `fsm proxy get PAGE POD -n NS` reaches a pod's loopback-only admin port through `kubectl
/// port-forward`; here `--kubectl` names a stand-in that records its arguments, forwards to a
/// local server (127.93.41.1) and prints kubectl's `Forwarding from` line, or fails as kubectl does.
@Suite(.timeLimit(.minutes(1)))
struct ProxyGetCommandTests {
    static let server = """
    import http.server
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = ("admin page %s\\n" % self.path).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.93.41.1", 0), Page)
    print("Forwarding from 127.93.41.1:%d -> 15000" % server.server_address[1], flush=True)
    server.serve_forever()

    """

    static func standIn(in directory: URL, body: String) throws -> String {
        let path = directory.appendingPathComponent("kubectl").path
        try Data("#!/bin/sh\nprintf '%s\\n' \"$@\" > \(directory.path)/args\n\(body)\n".utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "the kubectl stand-in serves with python3"))
    func aPodsAdminPageComesThroughThePortForward() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fsm-proxy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(Self.server.utf8).write(to: directory.appendingPathComponent("serve.py"))
        let kubectl = try Self.standIn(in: directory, body: "exec python3 -u \(directory.path)/serve.py")
        let fsm = try BuiltCommandPath.fsm()
        let result = try BuiltCommandPath.run(fsm, ["proxy", "get", "config_dump", "bookbuyer-0", "-n", "bookbuyer", "--kubectl", kubectl,
                                                    "--kubeconfig", "/etc/cluster.conf"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "admin page /config_dump\n")
        let arguments = try String(contentsOf: directory.appendingPathComponent("args"), encoding: .utf8).split(separator: "\n")
        #expect(arguments == ["port-forward", "pod/bookbuyer-0", "-n", "bookbuyer", ":15000", "--address", "127.0.0.1", "--kubeconfig", "/etc/cluster.conf"])
    }

    @Test func kubectlsOwnRefusalIsTheOneLineError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fsm-proxy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let kubectl = try Self.standIn(in: directory, body: "echo 'error: pods \"nowhere\" not found' >&2\nexit 1")
        let result = try BuiltCommandPath.run(try BuiltCommandPath.fsm(), ["proxy", "get", "stats", "nowhere", "-n", "bookbuyer", "--kubectl", kubectl])
        #expect(result.status == 1)
        #expect(result.stderr == "Error: \(kubectl) port-forward pod/nowhere -n bookbuyer ended: error: pods \"nowhere\" not found\n")
        let both = try BuiltCommandPath.run(try BuiltCommandPath.fsm(), ["proxy", "get", "stats", "x", "--admin", "127.0.0.1:15000"])
        #expect(both.status == 64)
    }
}

/// The fsm executable run to completion with its output captured.
enum BuiltCommandPath {
    static func fsm() throws -> String {
        try #require(TestExecutables.path(of: "fsm"), "the fsm executable is not in the build directory")
    }

    static func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let outcome = try TestExecutables.run(path, arguments)
        return (outcome.status, outcome.stdout, outcome.stderr)
    }
}
