import Foundation
import MeshInterceptor
import MeshInterceptorBPF
import MeshShell
import MeshTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Real eBPF capture: `fsm interceptor` attached to pods made of a network namespace and a cgroup
/// v2 directory, with no iptables rule anywhere, driven by the `redirect-probe` helper as the app
/// (app cgroup, uid 1001) and as the sidecar's listener (sidecar cgroup). The pod is 10.88.0.1,
/// a peer namespace 10.88.0.2 behind a veth pair; 198.18.0.0/15 stands for remote addresses,
/// routed to the peer, which does not answer them, so a connection left uncaptured fails.
@Suite(
    .serialized,
    .timeLimit(.minutes(3)),
    .enabled(if: EBPFEnvironment.isAvailable, Comment(rawValue: EBPFEnvironment.unavailableReason ?? "root, cgroup v2, iproute2 and the eBPF object are available"))
)
struct EBPFCaptureTests {
    static let podIP = "10.88.0.1"
    static let peerIP = "10.88.0.2"
    static let remoteIP = "198.18.0.10"
    static let appUID = 1001

    let fsm: String
    let probe: String

    init() throws {
        fsm = try #require(EBPFEnvironment.binary("fsm"), "fsm was not built next to the tests (swift build --build-tests)")
        probe = try #require(EBPFEnvironment.binary("redirect-probe"), "redirect-probe was not built next to the tests")
    }

    /// A pod and an unmeshed peer joined by a veth pair, an interceptor for the pod, and `body`;
    /// everything is removed afterwards, the interceptor stopped first (its output is returned).
    @discardableResult
    func withCapturedPod(annotations: [String: String] = [:], sidecarByCgroup: Bool = false, arguments: [String] = [],
                         _ body: (CapturePod, NetworkNamespace) throws -> Void) throws -> String {
        let pod = try CapturePod("ebpfpod", address: Self.podIP)
        defer { pod.delete() }
        let peer = try NetworkNamespace(purpose: "ebpfpeer")
        defer { peer.delete() }
        try pod.namespace.connect(to: peer, address: Self.podIP, otherAddress: Self.peerIP)
        try peer.ip(["route", "add", "198.18.0.0/15", "dev", "v1"])
        let interceptor = try TestInterceptor.start(fsm: fsm, entries: [pod.podsFileEntry(annotations: annotations, sidecarByCgroup: sidecarByCgroup)], arguments: arguments)
        try #require(interceptor.started, "fsm interceptor did not start: \(interceptor.command.seen)")
        do {
            try body(pod, peer)
        } catch {
            _ = interceptor.stop()
            throw error
        }
        return interceptor.stop()
    }

    typealias Attempt = ProbeAttempt

    /// The sidecar's listener on `listenPort` (in the pod's sidecar cgroup, where the getsockopt
    /// program answers), and a client connecting from `client` (a command line wrapper).
    func attempt(listenPort: Int, in pod: CapturePod, connectTo ip: String, _ port: Int,
                 from client: ([String]) throws -> CommandResult) throws -> Attempt {
        let listener = try pod.namespace.start([probe, "listen", String(listenPort), "--accept-timeout-ms", "30000", "--until-stdin-closes", "1"],
                                               readyLine: "LISTENING", cgroup: pod.sidecarCgroup)
        try #require(listener.seen.contains("LISTENING"), "listener did not start: \(listener.seen)")
        let result = try client([probe, "connect", ip, String(port), "--timeout-ms", "1000"])
        let seen = Attempt(listener: listener.finish(), client: result.output + result.errorOutput)
        print("ebpf capture: \(ip):\(port): client [\(seen.client.trimmingCharacters(in: .whitespacesAndNewlines))], listener on \(listenPort) [\(seen.listener.split(separator: "\n").last ?? "")]")
        return seen
    }

    /// The pod's app: its network namespace, its app cgroup, uid 1001.
    func asApp(_ pod: CapturePod, uid: Int = appUID) -> ([String]) throws -> CommandResult {
        { try pod.app($0 + ["--uid", String(uid)]) }
    }

    @Test func appConnectionReachesTheOutboundListenerWithItsOriginalDestination() throws {
        try withCapturedPod { pod, _ in
            let seen = try attempt(listenPort: 15001, in: pod, connectTo: Self.remoteIP, 8080, from: asApp(pod))
            #expect(seen.connected)
            #expect(seen.originalDestination == "198.18.0.10:8080")
        }
    }

    @Test func sidecarUIDAndSidecarCgroupAreNotCaptured() throws {
        try withCapturedPod(sidecarByCgroup: true) { pod, _ in
            let proxy = try attempt(listenPort: 15001, in: pod, connectTo: Self.remoteIP, 8080, from: asApp(pod, uid: 1500))
            #expect(!proxy.connected && proxy.listenerSawNothing)
            // Another uid, but from the sidecar's cgroup: still the sidecar.
            let sidecar = try attempt(listenPort: 15001, in: pod, connectTo: Self.remoteIP, 8080) {
                try pod.namespace.exec($0 + ["--uid", String(Self.appUID)], cgroup: pod.sidecarCgroup)
            }
            #expect(!sidecar.connected && sidecar.listenerSawNothing)
            // The same uid from the app's cgroup is captured, so the programs were in force.
            let app = try attempt(listenPort: 15001, in: pod, connectTo: Self.remoteIP, 8080, from: asApp(pod))
            #expect(app.originalDestination == "198.18.0.10:8080")
        }
    }

    @Test func excludedPortsFromMeshConfigAnnotationsAndReservedListsAreNotCaptured() throws {
        let meshConfig = FileManager.default.temporaryDirectory.appendingPathComponent("ebpf-meshconfig-\(getpid()).yaml").path
        try """
        apiVersion: config.flomesh.io/v1alpha3
        kind: MeshConfig
        metadata:
          name: fsm-mesh-config
          namespace: fsm-system
        spec:
          traffic:
            outboundPortExclusionList: [6379]
        """.write(toFile: meshConfig, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: meshConfig) }
        try withCapturedPod(annotations: ["flomesh.io/outbound-port-exclusion-list": "9090"], arguments: ["--mesh-config", meshConfig]) { pod, _ in
            for port in [9090, 6379, 15010] {
                let excluded = try attempt(listenPort: 15001, in: pod, connectTo: Self.remoteIP, port, from: asApp(pod))
                #expect(!excluded.connected && excluded.listenerSawNothing, "port \(port)")
            }
            let other = try attempt(listenPort: 15001, in: pod, connectTo: Self.remoteIP, 8080, from: asApp(pod))
            #expect(other.originalDestination == "198.18.0.10:8080")
        }
    }

    @Test func inclusionListCapturesOnlyItsRangesAndExclusionWins() throws {
        let annotations = ["flomesh.io/outbound-ip-range-inclusion-list": "198.18.0.0/25", "flomesh.io/outbound-ip-range-exclusion-list": "198.18.0.32/27"]
        try withCapturedPod(annotations: annotations) { pod, _ in
            let included = try attempt(listenPort: 15001, in: pod, connectTo: "198.18.0.10", 8080, from: asApp(pod))
            #expect(included.originalDestination == "198.18.0.10:8080")
            for outside in ["198.18.0.200", "198.18.0.40"] {
                let left = try attempt(listenPort: 15001, in: pod, connectTo: outside, 8080, from: asApp(pod))
                #expect(left.listenerSawNothing && !left.connected, "\(outside)")
            }
        }
    }

    /// Inbound from an unmeshed peer: the tc programs send the connection to the inbound listener
    /// (replies keep the original port), except reserved and excluded ports.
    @Test func inboundConnectionsFromAnywhereReachTheInboundListenerExceptExcludedPorts() throws {
        try withCapturedPod(annotations: ["flomesh.io/inbound-port-exclusion-list": "7070"]) { pod, peer in
            let captured = try attempt(listenPort: 15003, in: pod, connectTo: Self.podIP, 8080) { try peer.exec($0) }
            #expect(captured.connected)
            #expect(captured.originalDestination == "10.88.0.1:8080")
            for port in [7070, 15010] {
                // Nothing listens on the excluded port itself, so the pod refuses it.
                let bypassed = try attempt(listenPort: 15003, in: pod, connectTo: Self.podIP, port) { try peer.exec($0) }
                #expect(bypassed.listenerSawNothing, "port \(port)")
                #expect(bypassed.client.contains("CONNECT_FAILED Connection refused"), "port \(port)")
            }
        }
    }

    /// SIGTERM detaches everything: no program left on the cgroup, no tc filter, no pins, and the
    /// app's connections are no longer captured; the counters are printed.
    @Test func stoppingDetachesEverythingAndReportsCounters() throws {
        let pod = try CapturePod("ebpfstop", address: Self.podIP)
        defer { pod.delete() }
        let peer = try NetworkNamespace(purpose: "ebpfstoppeer")
        defer { peer.delete() }
        try pod.namespace.connect(to: peer, address: Self.podIP, otherAddress: Self.peerIP)
        let interceptor = try TestInterceptor.start(fsm: fsm, entries: [pod.podsFileEntry()])
        try #require(interceptor.started, "fsm interceptor did not start: \(interceptor.command.seen)")
        #expect(InterceptorAttachment.programs(inForceFor: pod.appCgroup.path) == ["fsm_connect4", "fsm_sockops", "fsm_getsockopt"])
        #expect(FileManager.default.fileExists(atPath: "\(interceptor.pinDirectory)/fsm_pair_dst"))
        #expect(try tcFilters(pod).contains("fsm_tc_ingress"))
        let seen = try attempt(listenPort: 15001, in: pod, connectTo: Self.remoteIP, 8080, from: asApp(pod))
        #expect(seen.originalDestination == "198.18.0.10:8080")

        let output = interceptor.stop()
        #expect(interceptor.command.process.termination == .exited(0), "\(output)")
        #expect(output.contains("interceptor stopped: outbound_redirected=1 "), "\(output)")
        #expect(output.contains("original_dst_answered=1"), "\(output)")
        #expect(InterceptorAttachment.programs(inForceFor: pod.appCgroup.path) == [])
        #expect(!FileManager.default.fileExists(atPath: interceptor.pinDirectory))
        #expect(try !tcFilters(pod).contains("fsm_tc"))
        let after = try attempt(listenPort: 15001, in: pod, connectTo: Self.remoteIP, 8080, from: asApp(pod))
        #expect(!after.connected && after.listenerSawNothing)
    }

    /// A killed interceptor leaves capture in force (its links are pinned, its tc filters on the
    /// interfaces), so no connection escapes the sidecar meanwhile; the next one on its pin
    /// directory removes the old pins (detaching them), replaces the tc filters and captures.
    @Test func aKilledInterceptorKeepsCapturingUntilTheNextOneTakesOver() throws {
        let pod = try CapturePod("ebpfkill", address: Self.podIP)
        defer { pod.delete() }
        let peer = try NetworkNamespace(purpose: "ebpfkillpeer")
        defer { peer.delete() }
        try pod.namespace.connect(to: peer, address: Self.podIP, otherAddress: Self.peerIP)
        try peer.ip(["route", "add", "198.18.0.0/15", "dev", "v1"])
        let pins = TestInterceptor.newPinDirectory()
        let first = try TestInterceptor.start(fsm: fsm, entries: [pod.podsFileEntry()], pinDirectory: pins)
        try #require(first.started, "fsm interceptor did not start: \(first.command.seen)")
        first.command.process.send(SIGKILL)
        _ = first.command.finish()
        #expect(InterceptorAttachment.programs(inForceFor: pod.appCgroup.path) == ["fsm_connect4", "fsm_sockops", "fsm_getsockopt"])
        let meanwhile = try attempt(listenPort: 15001, in: pod, connectTo: Self.remoteIP, 8080, from: asApp(pod))
        #expect(meanwhile.originalDestination == "198.18.0.10:8080")

        let second = try TestInterceptor.start(fsm: fsm, entries: [pod.podsFileEntry()], pinDirectory: pins)
        try #require(second.started, "the next fsm interceptor did not start: \(second.command.seen)")
        let captured = try attempt(listenPort: 15001, in: pod, connectTo: Self.remoteIP, 8080, from: asApp(pod))
        #expect(captured.originalDestination == "198.18.0.10:8080")
        let inbound = try attempt(listenPort: 15003, in: pod, connectTo: Self.podIP, 8080) { try peer.exec($0) }
        #expect(inbound.originalDestination == "10.88.0.1:8080")
        #expect(InterceptorAttachment.programs(inForceFor: pod.appCgroup.path) == ["fsm_connect4", "fsm_sockops", "fsm_getsockopt"])
        let output = second.stop()
        #expect(second.command.seen.contains("removing pins left by an interceptor that did not stop cleanly"), "\(output)")
        #expect(second.command.seen.contains("replacing a tc filter left on an interface"), "\(output)")
        #expect(InterceptorAttachment.programs(inForceFor: pod.appCgroup.path) == [])
    }

    func tcFilters(_ pod: CapturePod) throws -> String {
        let tc = try #require(EBPFEnvironment.tool("tc"))
        return try ["ingress", "egress"].map { try pod.namespace.exec([tc, "filter", "show", "dev", "v0", $0]).output }.joined()
    }
}

/// What the eBPF tests need: root and network namespaces (`CaptureTestEnvironment`), cgroup v2,
/// tc, and an fsm built with its eBPF object.
enum EBPFEnvironment {
    static func tool(_ name: String) -> String? { CaptureTestEnvironment.tool(name) }
    static func binary(_ name: String) -> String? { CaptureTestEnvironment.binary(name) }
    static let unavailableReason = EBPFTestEnvironment.unavailableReason(needing: ["ip", "tc", "nsenter"], objectProblem: InterceptorObject.unavailableReason)
    static var isAvailable: Bool { EBPFTestEnvironment.isAvailable(unavailableReason, suite: "EBPFCaptureTests") }
}
