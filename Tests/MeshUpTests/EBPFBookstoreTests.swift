import Foundation
import MeshInterceptorBPF
import MeshModel
import MeshShell
import MeshTesting
import MeshUp
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `fsm up --pods netns` on a copy of deploy/samples/bookstore whose MeshConfig says
/// `traffic.interceptionMode: ebpf` (root, cgroup v2): the webhook adds no iptables init
/// container and starts each sidecar with `--capture ebpf`; `fsm up` puts each meshed pod's
/// sidecar and app in cgroups of their own and runs one `fsm interceptor` for them all. The demo
/// apps, unmodified, call the services' cluster IPs and the kernel takes them to their sidecars:
/// bookbuyer buys, bookthief is refused, and `fsm down` leaves no cgroup, pin or namespace.
/// Addresses: bridge 10.244.81.1/24, pods from .10, services from 10.96.81.10 (no other suite uses
/// them; leased for the test's length, so a second test run on the machine waits for them).
@Suite(
    .timeLimit(.minutes(5)),
    .enabled(if: EBPFBookstoreEnvironment.unavailableReason == nil, Comment(rawValue: EBPFBookstoreEnvironment.unavailableReason ?? "root, cgroup v2 and the eBPF object are available"))
)
struct EBPFBookstoreTests {
    @Test func theBookstoreRunsInEBPFModeThroughFsmUp() async throws {
        let fsm = try #require(UpEndToEndTests.fsmPath())
        let blocks = try await TestAddressBlock.hold(["10.244.81", "10.96.81"])
        defer { blocks.forEach { $0.release() } }
        let (directory, manifests, stateDir) = try UpEndToEndTests.workspace("mesh-up-ebpf")
        let meshFile = (manifests as NSString).appendingPathComponent("00-mesh.yaml")
        let mesh = try String(contentsOfFile: meshFile, encoding: .utf8)
        try mesh.replacingOccurrences(of: "  traffic:\n", with: "  traffic:\n    interceptionMode: ebpf\n").write(toFile: meshFile, atomically: true, encoding: .utf8)
        let upArguments = ["up", "--pods", "netns", "--manifests", manifests, "--state-dir", stateDir, "--first-pod-ip", "10.244.81.10",
                           "--first-service-ip", "10.96.81.10", "--timeout", "180", "--probe-period", "0.5"]
        var recorded: UpState?
        do {
            let up = try await UpEndToEndTests.fsm(fsm, upArguments, in: directory)
            recorded = try UpState.load(from: stateDir)
            let state = try #require(recorded, "fsm up failed: \(up.output)")
            try #require(up.status == 0, "fsm up failed: \(up.output)")
            try checkCapture(state)
            try await checkTraffic(state)
        } catch {
            Issue.record(error)
        }
        let down = try await UpEndToEndTests.fsm(fsm, ["down", "--state-dir", stateDir], in: directory)
        #expect(down.status == 0, "fsm down failed: \(down.output)")
        if let cgroups = recorded?.cgroups {
            #expect(!FileManager.default.fileExists(atPath: cgroups.root), "\(cgroups.root) left behind")
            #expect(!FileManager.default.fileExists(atPath: cgroups.pinDirectory), "\(cgroups.pinDirectory) left behind")
        } else {
            Issue.record("fsm up recorded no cgroups")
        }
        // The interceptor, stopped by fsm down, reports what it did: every app connection through
        // the outbound listener, every original destination found, the sockmap shortcut used.
        let log = (try? String(contentsOfFile: "\(stateDir)/logs/interceptor.log", encoding: .utf8)) ?? ""
        #expect(TestInterceptor.counter("outbound_redirected", in: log) >= 4, "\(log)")
        #expect(TestInterceptor.counter("original_dst_missing", in: log) == 0, "\(log)")
        #expect(TestInterceptor.counter("local_inbound_redirected", in: log) >= 2, "\(log)")
        #expect(TestInterceptor.counter("messages_redirected", in: log) > 0, "\(log)")
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// No iptables rule anywhere; one interceptor; each sidecar and app in its pod's cgroups.
    func checkCapture(_ state: UpState) throws {
        let cgroups = try #require(state.cgroups)
        #expect(state.processes.filter { $0.role == .interceptor }.count == 1)
        for pod in state.pods {
            let netns = try #require(pod.netns)
            let rules = NetnsPodsEndToEndTests.host("ip", ["netns", "exec", netns, "iptables", "-t", "nat", "-S"])?.output ?? ""
            #expect(!rules.contains("PROXY_"), "\(pod.pod): \(rules)")
        }
        for process in state.processes where process.role == .sidecar || process.role == .app {
            let pod = try #require(process.pod)
            let expected = process.role == .sidecar ? cgroups.sidecar(pod) : cgroups.app(pod)
            let membership = (try? String(contentsOfFile: "/proc/\(process.pid)/cgroup", encoding: .utf8)) ?? ""
            #expect(expected.hasSuffix(membership.split(separator: ":").last.map { String($0).trimmingCharacters(in: .newlines) } ?? "?"),
                    "\(process.what) is in \(membership), not \(expected)")
        }
    }

    /// bookbuyer buys through both sidecars (by cluster IP, captured); bookthief has no TrafficTarget.
    func checkTraffic(_ state: UpState) async throws {
        func netns(_ pod: String) throws -> String { try #require(state.pods.first { $0.pod == pod }?.netns) }
        let buyer = try netns("bookbuyer/bookbuyer-0"), thief = try netns("bookthief/bookthief-0")
        let first = NetnsPodsEndToEndTests.counter(buyer, "booksBoughtV1") ?? 0
        #expect(await NetnsPodsEndToEndTests.until(90) { (NetnsPodsEndToEndTests.counter(buyer, "booksBoughtV1") ?? 0) >= first + 2 },
                "bookbuyer bought \(NetnsPodsEndToEndTests.counter(buyer, "booksBoughtV1") ?? -1)")
        #expect(await NetnsPodsEndToEndTests.until(60) { (NetnsPodsEndToEndTests.counter(thief, "refused") ?? 0) >= 2 },
                "bookthief refused \(NetnsPodsEndToEndTests.counter(thief, "refused") ?? -1)")
        #expect(NetnsPodsEndToEndTests.counter(thief, "booksStolen") == 0)
    }
}

enum EBPFBookstoreEnvironment {
    static let unavailableReason = EBPFTestEnvironment.unavailableReason(needing: ["ip", "iptables", "curl"], objectProblem: InterceptorObject.unavailableReason)
        ?? (UpEndToEndTests.fsmPath() == nil ? "the fsm executable is not in the build directory" : nil)
}
