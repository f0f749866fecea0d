import Foundation
import MeshInterceptor
import MeshShell
import MeshTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What `fsm interceptor` refuses, each as one line and exit status 1, leaving nothing behind:
/// not root, a cgroup v1 or non-cgroup directory, a second interceptor on the same cgroup or pin
/// directory, and programs the kernel's verifier rejects (quoting its log).
@Suite(
    .serialized,
    .timeLimit(.minutes(2)),
    .enabled(if: EBPFEnvironment.isAvailable, Comment(rawValue: EBPFEnvironment.unavailableReason ?? "root, cgroup v2 and the eBPF object are available"))
)
struct InterceptorRefusalTests {
    let fsm: String

    init() throws {
        fsm = try #require(EBPFEnvironment.binary("fsm"), "fsm was not built next to the tests")
    }

    func podsFile(_ entries: [String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("refusal-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).yaml").path
        try ("pods:\n" + entries.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func interceptor(_ arguments: [String]) throws -> CommandResult {
        try Command.run(fsm, ["interceptor", "--pin-dir", TestInterceptor.newPinDirectory()] + arguments)
    }

    @Test func aCgroupThatIsNotCgroupV2IsRefusedByName() throws {
        let v1 = ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids"].first { InterceptorPreflight.kind(of: $0) == .cgroup1 }
        for (path, expected) in [("/tmp", "/tmp is not a cgroup directory: eBPF capture attaches to a cgroup v2 directory")] + (v1.map { [($0, "cgroup \($0) is on a cgroup v1 hierarchy")] } ?? []) {
            let file = try podsFile(["- ip: 10.88.1.1\n  cgroup: \(path)"])
            defer { try? FileManager.default.removeItem(atPath: file) }
            let result = try interceptor(["--pods", file])
            #expect(result.status == 1)
            #expect(result.errorOutput.hasPrefix("Error: \(expected)"), "\(result.errorOutput)")
            #expect(result.errorOutput.split(separator: "\n").count == 1, "\(result.errorOutput)")
        }
    }

    @Test(.enabled(if: EBPFEnvironment.tool("setpriv") != nil, "needs setpriv (util-linux) to run fsm as another user"))
    func notRootIsRefusedBeforeTouchingTheKernel() throws {
        let cgroup = try TestCgroup(purpose: "notroot")
        defer { cgroup.delete() }
        let file = try podsFile(["- ip: 10.88.1.1\n  cgroup: \(cgroup.path)"])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let setpriv = try #require(EBPFEnvironment.tool("setpriv"))
        let result = try Command.run(setpriv, ["--reuid", "1001", "--regid", "1001", "--clear-groups", "--inh-caps=-all", fsm, "interceptor", "--pods", file])
        #expect(result.status == 1)
        #expect(result.errorOutput.hasPrefix("Error: fsm interceptor needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN)"), "\(result.errorOutput)")
        #expect(result.errorOutput.contains("running as uid 1001"))
    }

    /// A second interceptor on a pod the first captures is refused (it would rewrite every
    /// connection twice), as is a second one on the first's pin directory; the first keeps going.
    @Test func aSecondInterceptorIsRefusedAndTheFirstKeepsCapturing() throws {
        let pod = try CapturePod("second", address: "10.88.1.1")
        defer { pod.delete() }
        let first = try TestInterceptor.start(fsm: fsm, entries: [pod.podsFileEntry(withNamespace: false)])
        try #require(first.started, "fsm interceptor did not start: \(first.command.seen)")
        defer { _ = first.stop() }

        let file = try podsFile([pod.podsFileEntry(withNamespace: false)])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let sameCgroup = try interceptor(["--pods", file])
        #expect(sameCgroup.status == 1)
        #expect(sameCgroup.errorOutput.contains("cgroup \(pod.cgroup.path) already runs fsm_connect4 (program id "), "\(sameCgroup.errorOutput)")
        #expect(sameCgroup.errorOutput.contains("another fsm interceptor captures it"))
        // A child cgroup of a captured pod is refused too: the parent's programs run for it.
        let child = try podsFile(["- ip: 10.88.1.2\n  cgroup: \(pod.appCgroup.path)"])
        defer { try? FileManager.default.removeItem(atPath: child) }
        #expect(try interceptor(["--pods", child]).errorOutput.contains("already runs fsm_connect4"))

        let samePins = try Command.run(fsm, ["interceptor", "--pods", file, "--pin-dir", first.pinDirectory])
        #expect(samePins.status == 1)
        #expect(samePins.errorOutput.contains("another fsm interceptor (pid \(first.command.process.pid)) is using \(first.pinDirectory)"), "\(samePins.errorOutput)")

        #expect(first.command.process.isRunning)
        #expect(InterceptorAttachment.programs(inForceFor: pod.appCgroup.path) == ["fsm_connect4", "fsm_sockops", "fsm_getsockopt"])
    }

    /// An object whose program the verifier rejects: the error names the program and quotes the
    /// verifier's last words; nothing stays attached or pinned.
    @Test(.enabled(if: EBPFEnvironment.tool("clang") != nil, "needs clang (the Swift toolchain's) to build a bad program"))
    func programsTheVerifierRejectsAreRefusedWithItsLog() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bad-bpf-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try """
        #include <linux/bpf.h>
        __attribute__((section("cgroup/connect4"), used))
        int fsm_connect4(struct bpf_sock_addr *ctx) { return *(int *)((char *)ctx + 1000); }
        char LICENSE[] __attribute__((section("license"), used)) = "GPL";
        """.write(toFile: directory + "/bad.bpf.c", atomically: true, encoding: .utf8)
        var multiarch = "x86_64-linux-gnu"
        if let gcc = EBPFEnvironment.tool("gcc"), let printed = try? Command.run(gcc, ["-print-multiarch"]), printed.status == 0 {
            multiarch = printed.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let clang = try #require(EBPFEnvironment.tool("clang"))
        let compiled = try Command.run(clang, ["-O2", "-g", "-target", "bpf", "-I/usr/include/\(multiarch)", "-c", directory + "/bad.bpf.c", "-o", directory + "/bad.o"])
        try #require(compiled.status == 0, "clang: \(compiled.errorOutput)")

        let cgroup = try TestCgroup(purpose: "verifier")
        defer { cgroup.delete() }
        let file = try podsFile(["- ip: 10.88.1.3\n  cgroup: \(cgroup.path)"])
        defer { try? FileManager.default.removeItem(atPath: file) }
        let pins = TestInterceptor.newPinDirectory()
        let result = try Command.run(fsm, ["interceptor", "--pods", file, "--pin-dir", pins, "--object", directory + "/bad.o"])
        #expect(result.status == 1)
        #expect(result.errorOutput.hasPrefix("Error: the kernel's verifier refused program fsm_connect4:"), "\(result.errorOutput)")
        #expect(result.errorOutput.contains("invalid bpf_context access off=1000"), "\(result.errorOutput)")
        #expect(!FileManager.default.fileExists(atPath: pins))
        #expect(InterceptorAttachment.programs(inForceFor: cgroup.path) == [])
        // Not an eBPF object at all.
        let garbage = try Command.run(fsm, ["interceptor", "--pods", file, "--pin-dir", pins, "--object", file])
        #expect(garbage.status == 1)
        #expect(garbage.errorOutput.hasPrefix("Error: cannot read the eBPF object:"), "\(garbage.errorOutput)")
    }
}
