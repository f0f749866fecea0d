import Foundation
import MeshControlPlane
import MeshRuntime
import MeshShell
import MeshTesting
import MeshUp
import NIOCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 9 item 2: key files are 0600 (in 0700 directories) from creation, through the `fsm`
/// binary run with a umask of 0, which must not widen anything: `fsm ca init|issue`,
/// `fsm credential`, and the controller's state directory; and the credential options' errors.
/// Controller: .1:6060 of a test address block.
@Suite(.timeLimit(.minutes(3)))
struct SecretsCommandLineTests {
    /// Runs `fsm ARGS` with umask 0 (through /bin/sh); waits at most 60 s unless `wait` is false.
    static func fsmUnderUmaskZero(_ arguments: [String], in directory: String, wait: Bool = true) async throws -> (pid: Int32, status: Int32, output: String) {
        let fsm = try #require(UpEndToEndTests.fsmPath(), "the fsm executable is not in the build directory")
        let output = (directory as NSString).appendingPathComponent("fsm-\(arguments[0])-\(UInt32.random(in: 0...UInt32.max)).out")
        let pid = try DetachedProcess.spawn("/bin/sh", ["-c", "umask 0 && exec \"$0\" \"$@\"", fsm] + arguments, log: output, newSession: false)
        guard wait else { return (pid, -1, "") }
        let status = await DetachedProcess.waitForExit(pid: pid, timeout: .seconds(60)) ?? -1
        return (pid, status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    /// The permission bits (of the link itself for a symlink, as lstat). FileManager rather than
    /// `stat()`: which module owns Glibc's `struct stat` depends on the compiler's batch order,
    /// which MemberImportVisibility then refuses now and then.
    static func mode(_ path: String) -> mode_t? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let permissions = attributes[.posixPermissions] as? NSNumber else { return nil }
        return mode_t(permissions.uint16Value) & 0o777
    }

    static func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "mesh-modes-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func caInitAndIssueWriteKeysOwnerOnly() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ca = dir + "/ca", workload = dir + "/certs/buyer"
        let initResult = try await Self.fsmUnderUmaskZero(["ca", "init", "--out", ca], in: dir)
        #expect(initResult.status == 0, "\(initResult.output)")
        #expect(Self.mode(ca) == 0o700)
        #expect(Self.mode(ca + "/private.key") == 0o600)
        #expect(Self.mode(ca + "/ca.crt") == 0o644)
        let issue = try await Self.fsmUnderUmaskZero(["ca", "issue", "--identity", "buyer.shop.cluster.local", "--ca", ca, "--out", workload], in: dir)
        #expect(issue.status == 0, "\(issue.output)")
        #expect(Self.mode(dir + "/certs") == 0o700)
        #expect(Self.mode(workload) == 0o700)
        #expect(Self.mode(workload + "/tls.key") == 0o600)
        #expect(Self.mode(workload + "/tls.crt") == 0o644)
        #expect(Self.mode(workload + "/ca.crt") == 0o644)
        // Nothing else (no temporary file) was left in either directory.
        #expect(try FileManager.default.contentsOfDirectory(atPath: ca).sorted() == ["ca.crt", "private.key"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: workload).sorted() == ["ca.crt", "tls.crt", "tls.key"])

        // A CA key that others may read is not used.
        #expect(chmod(ca + "/private.key", 0o644) == 0)
        let refused = try await Self.fsmUnderUmaskZero(["ca", "issue", "--identity", "buyer.shop.cluster.local", "--ca", ca, "--out", dir + "/certs/other"], in: dir)
        #expect(refused.status != 0)
        #expect(refused.output.contains("cannot trust (mode 644, others may read it; expected 600) \(ca)/private.key"), "\(refused.output)")
    }

    @Test func theControllersStateAndMintedCredentialsAreOwnerOnly() async throws {
        let block = try TestAddressBlock.lease() // the controller's 6060 is fixed
        defer { block.release() }
        let host = block.address(1)
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let manifests = dir + "/manifests", state = dir + "/state"
        try FileManager.default.createDirectory(atPath: manifests, withIntermediateDirectories: true)
        try """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: shop
          labels: {flomesh.io/monitored-by: fsm}
          annotations: {flomesh.io/sidecar-injection: enabled}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: buyer-1, namespace: shop}
        spec:
          serviceAccountName: buyer
          containers: [{name: app, image: demo}]
        status: {podIP: \(block.address(11))}
        """.write(toFile: manifests + "/mesh.yaml", atomically: true, encoding: .utf8)
        let controller = try await Self.fsmUnderUmaskZero(["controller", "--manifests", manifests, "--state-dir", state, "--listen", "\(host):6060"],
                                                          in: dir, wait: false)
        defer {
            kill(controller.pid, SIGKILL)
            _ = waitpid(controller.pid, nil, 0)
        }
        let token = state + "/operator.token"
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: token), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        // Right after the token appears, before anything else touches the directory.
        #expect(Self.mode(state) == 0o700)
        #expect(Self.mode(token) == 0o600)
        #expect(Self.mode(state + "/credential.key") == 0o600)
        #expect(Self.mode(state + "/private.key") == 0o600)
        #expect(Self.mode(state + "/ca.crt") == 0o644)

        // `fsm credential` mints with the same key, into a 0600 file.
        let minted = try await Self.fsmUnderUmaskZero(["credential", "--state-dir", state, "--pod", "shop/buyer-1", "--out", dir + "/buyer.credential"], in: dir)
        #expect(minted.status == 0, "\(minted.output)")
        #expect(Self.mode(dir + "/buyer.credential") == 0o600)

        // The operator reads the status with the token; the pod's credential gets its config.
        let operatorToken = try String(contentsOfFile: token, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let podToken = try String(contentsOfFile: dir + "/buyer.credential", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        func get(_ path: String, _ token: String?) async -> Int {
            let headers = token.map { [("authorization", "Bearer \($0)")] } ?? []
            return (try? await MeshHTTP.request(host: host, port: 6060, path: path, headers: headers, timeout: .seconds(5)).status) ?? -1
        }
        var ready = false
        while !ready, ContinuousClock.now < deadline {
            ready = await get("/healthz", nil) == 200
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(await get("/v1/status", nil) == 401)
        #expect(await get("/v1/status", operatorToken) == 200)
        #expect(await get("/v1/configs/shop/buyer-1", podToken) == 200)
        #expect(await get("/v1/configs/shop/buyer-1", operatorToken) == 403)
    }

    @Test func credentialOptionsSayWhatIsMissingOrWrong() async throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sidecar = ["sidecar", "--controller", "http://127.91.4.1:6061", "--pod", "shop/buyer-1", "--pod-ip", "127.91.4.11"]
        let missing = try await Self.fsmUnderUmaskZero(sidecar, in: dir)
        #expect(missing.status != 0)
        #expect(missing.output.contains("Error: --controller needs --credential-file FILE: the pod's credential (written by `fsm up`, or by `fsm credential --pod shop/buyer-1`)"), "\(missing.output)")
        let unreadable = try await Self.fsmUnderUmaskZero(sidecar + ["--credential-file", dir + "/none"], in: dir)
        #expect(unreadable.status != 0)
        #expect(unreadable.output.contains("Error: --credential-file: pod credential file \(dir)/none: cannot read it"), "\(unreadable.output)")
        let badPod = try await Self.fsmUnderUmaskZero(["credential", "--state-dir", dir + "/state", "--pod", "shop", "--out", dir + "/x"], in: dir)
        #expect(badPod.status != 0)
        #expect(badPod.output.contains("Error: --pod must be namespace/name, found 'shop'"), "\(badPod.output)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/x"))
        let both = try await Self.fsmUnderUmaskZero(["credential", "--state-dir", dir + "/state", "--pod", "shop/a", "--gateway", "shop/edge", "--out", dir + "/x"], in: dir)
        #expect(both.status != 0)
        #expect(both.output.contains("Error: give exactly one of --pod and --gateway"), "\(both.output)")
        // A gateway's credential (it reads that Gateway's config only), 0600 like a pod's.
        let gateway = try await Self.fsmUnderUmaskZero(["credential", "--state-dir", dir + "/state", "--gateway", "shop/edge", "--out", dir + "/edge.credential"], in: dir)
        #expect(gateway.status == 0, "\(gateway.output)")
        #expect(gateway.output.contains("credential for gateway shop/edge written to \(dir)/edge.credential"), "\(gateway.output)")
        #expect(Self.mode(dir + "/edge.credential") == 0o600)
    }
}
