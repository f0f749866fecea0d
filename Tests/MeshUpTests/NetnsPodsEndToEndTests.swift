import Foundation
import MeshModel
import MeshRuntime
import MeshShell
import MeshTesting
import MeshUp
import NIOCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `fsm up --pods netns` on a copy of deploy/samples/bookstore whose bookstore and bookwarehouse
/// carry HTTP and TCP probes, through the executable (root): each pod is what the injection
/// webhook patched, in a network namespace on a bridge, its traffic captured by the init
/// container's iptables rules; bookbuyer's count rises, bookthief is refused, the kubelet's probes
/// go to the rewritten 15901-15904 and the sidecar answers them, and `fsm down` leaves no
/// namespace, link or rule, even after `fsm up` itself was killed. Addresses: bridge
/// 10.244.77.1/24 (10.244.78.1/24 for the crash), pods from .10, services from 10.96.77.10 (10.96.78.10) (no other suite routes these; the capture suites' namespaces have no route to the host), each
/// leased for the test's length so that a second test run on the machine waits for them.
enum NetnsPodsEnvironment {
    static let unavailable: String? = CaptureTestEnvironment.unavailableReason(needing: ["ip", "iptables", "curl"])
        ?? (UpEndToEndTests.fsmPath() == nil ? "the fsm executable is not in the build directory" : nil)
}

@Suite(.timeLimit(.minutes(8)), .enabled(if: NetnsPodsEnvironment.unavailable == nil,
                                          Comment(rawValue: NetnsPodsEnvironment.unavailable ?? "root, iproute2, iptables, curl and fsm are available")))
struct NetnsPodsEndToEndTests {

    /// Probes the kubelet would run: HTTP ones on bookstore-v1 (rewritten to 15901-15903), TCP on
    /// bookwarehouse (rewritten to `/fsm-healthcheck` on 15904).
    static func addProbes(_ manifests: String) throws {
        let store = (manifests as NSString).appendingPathComponent("30-bookstore.yaml")
        try String(contentsOfFile: store, encoding: .utf8).replacingOccurrences(of: "              value: bookstore-v1\n", with: """
                          value: bookstore-v1
                      livenessProbe:
                        httpGet: {path: /, port: web}
                        periodSeconds: 1
                      readinessProbe:
                        httpGet: {path: /raw, port: 14001}
                        periodSeconds: 1
                      startupProbe:
                        httpGet: {path: /, port: 14001}
                        periodSeconds: 1

            """).write(toFile: store, atomically: true, encoding: .utf8)
        let warehouse = (manifests as NSString).appendingPathComponent("40-bookwarehouse.yaml")
        let text = try String(contentsOfFile: warehouse, encoding: .utf8)
        try (text + "          readinessProbe:\n            tcpSocket: {port: 14001}\n            periodSeconds: 1\n").write(toFile: warehouse, atomically: true, encoding: .utf8)
    }

    /// GET `path` of `port` on the pod's own loopback, from inside its network namespace (as `kubectl exec` would).
    static func inPod(_ netns: String, port: Int, path: String) -> String? {
        guard let ip = CaptureTestEnvironment.tool("ip"), let curl = CaptureTestEnvironment.tool("curl"),
              let result = try? Command.run(ip, ["netns", "exec", netns, curl, "-s", "-m", "3", "http://127.0.0.1:\(port)\(path)"]), result.status == 0 else { return nil }
        return result.output
    }

    static func counter(_ netns: String, _ key: String) -> Int? {
        guard let body = inPod(netns, port: 14001, path: "/raw"), case .int(let value)? = (try? JSONValue(parsing: body))?[key] else { return nil }
        return Int(value)
    }

    /// The sidecar's `/stats` counter `name` (its admin port, on the pod's loopback).
    static func sidecarStat(_ netns: String, _ name: String) -> Int? {
        guard let body = inPod(netns, port: 15000, path: "/stats") else { return nil }
        let line = body.split(separator: "\n").first { $0.hasPrefix(name + ": ") }
        return line.flatMap { Int($0.dropFirst(name.count + 2)) }
    }

    static func until(_ seconds: Int, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(500))
        }
        return condition()
    }

    static func host(_ tool: String, _ arguments: [String]) -> CommandResult? {
        guard let path = CaptureTestEnvironment.tool(tool) else { return nil }
        return try? Command.run(path, arguments)
    }

    /// The real uid of a running process (`Uid:` in /proc/PID/status).
    static func uid(of pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }) else { return nil }
        return line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap { Int($0) }
    }

    static func owner(_ path: String) -> (uid: uid_t, mode: mode_t)? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let uid = (attributes[.ownerAccountID] as? NSNumber)?.uint32Value,
              let mode = (attributes[.posixPermissions] as? NSNumber)?.uint32Value else { return nil }
        return (uid_t(uid), mode_t(mode) & 0o777)
    }

    @Test func theBookstoreRunsInNetworkNamespacePodsThroughCapture() async throws {
        let fsm = try #require(UpEndToEndTests.fsmPath())
        let blocks = try await TestAddressBlock.hold(["10.244.77", "10.96.77"])
        defer { blocks.forEach { $0.release() } }
        let (directory, manifests, stateDir) = try UpEndToEndTests.workspace("mesh-up-netns")
        try Self.addProbes(manifests)
        let upArguments = ["up", "--pods", "netns", "--manifests", manifests, "--state-dir", stateDir, "--first-pod-ip", "10.244.77.10",
                           "--first-service-ip", "10.96.77.10", "--timeout", "180", "--probe-period", "0.5"]
        var network: PodNetwork?
        do {
            let up = try await UpEndToEndTests.fsm(fsm, upArguments, in: directory)
            let state = try #require(try UpState.load(from: stateDir), "fsm up failed: \(up.output)")
            network = state.network
            try #require(up.status == 0, "fsm up failed: \(up.output)")
            try checkPods(state, stateDir: stateDir)
            try checkProbes(state, stateDir: stateDir)
            try await checkTraffic(state)
        } catch {
            Issue.record(error)
        }
        let down = try await UpEndToEndTests.fsm(fsm, ["down", "--state-dir", stateDir], in: directory)
        #expect(down.status == 0, "fsm down failed: \(down.output)")
        #expect(try UpState.load(from: stateDir) == nil)
        if let network { checkNothingLeft(network) } else { Issue.record("fsm up recorded no network") }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Every pod in a namespace of its own with the init container's nat rules; the sidecar runs as
    /// uid 1500 and alone can read its credential.
    func checkPods(_ state: UpState, stateDir: String) throws {
        #expect(state.pods.count == 5)
        #expect(state.pods.allSatisfy { $0.netns != nil && $0.ip.hasPrefix("10.244.77.") })
        let namespaces = Self.host("ip", ["netns", "list"])?.output ?? ""
        for pod in state.pods {
            let netns = try #require(pod.netns)
            #expect(namespaces.contains(netns), "\(netns) not in \(namespaces)")
            let rules = Self.host("ip", ["netns", "exec", netns, "iptables", "-t", "nat", "-S"])?.output ?? ""
            #expect(rules.contains("-A PREROUTING -p tcp -j PROXY_INBOUND") && rules.contains("-A OUTPUT -p tcp -j PROXY_OUTPUT"), "\(pod.pod): \(rules)")
        }
        // The host's own nat table is untouched.
        let hostRules = Self.host("iptables", ["-t", "nat", "-S"])?.output ?? ""
        #expect(!hostRules.contains("PROXY_"))
        let sidecars = state.processes.filter { $0.role == .sidecar }
        #expect(sidecars.count == 5)
        for sidecar in sidecars {
            #expect(Self.uid(of: sidecar.pid) == 1500, "\(sidecar.what)")
            let credentialDirectory = "\(stateDir)/pods/\((sidecar.pod ?? "").replacingOccurrences(of: "/", with: "_"))/volumes/fsm-sidecar-credential"
            #expect(Self.owner(credentialDirectory).map { $0.uid == 1500 && $0.mode == 0o700 } == true, "\(credentialDirectory)")
            #expect(Self.owner(credentialDirectory + "/credential").map { $0.uid == 1500 && $0.mode == 0o600 } == true)
        }
        #expect(state.processes.filter { $0.role == .app }.allSatisfy { Self.uid(of: $0.pid) == 0 })
    }

    /// The admitted pod has its probes rewritten; the supervisor (the kubelet) sends its probes to
    /// the rewritten ports, and the sidecar counts what it answered on each.
    func checkProbes(_ state: UpState, stateDir: String) throws {
        let admitted = try String(contentsOfFile: "\(stateDir)/admitted/bookstore_bookstore-0.yaml", encoding: .utf8)
        let pod = try JSONValue(parsing: admitted)
        let store = try #require(pod["spec"]?["containers"]?.arrayItems?.first { $0["name"]?.stringValue == "bookstore" })
        #expect(store["livenessProbe"]?["httpGet"]?["port"] == .int(15901))
        #expect(store["readinessProbe"]?["httpGet"]?["port"] == .int(15902))
        #expect(store["startupProbe"]?["httpGet"]?["port"] == .int(15903))
        let storeApp = try #require(state.processes.first { $0.role == .app && $0.pod == "bookstore/bookstore-0" })
        #expect(Set(storeApp.allProbes.map(\.port)) == [15901, 15902, 15903])
        let warehouseApp = try #require(state.processes.first { $0.role == .app && $0.pod == "bookwarehouse/bookwarehouse-0" })
        #expect(warehouseApp.allProbes.map(\.port) == [15904])
        #expect(warehouseApp.allProbes.first?.headers == [ContainerProbe.Header(name: "Original-Tcp-Port", value: "14001")])
    }

    func checkTraffic(_ state: UpState) async throws {
        func netns(_ pod: String) throws -> String { try #require(state.pods.first { $0.pod == pod }?.netns) }
        let buyer = try netns("bookbuyer/bookbuyer-0"), thief = try netns("bookthief/bookthief-0")
        let store = try netns("bookstore/bookstore-0"), warehouse = try netns("bookwarehouse/bookwarehouse-0")
        // bookbuyer connects to bookstore.bookstore:14001 itself; capture takes it to the sidecar.
        let first = Self.counter(buyer, "booksBoughtV1") ?? 0
        #expect(await Self.until(90) { (Self.counter(buyer, "booksBoughtV1") ?? 0) >= first + 2 }, "bookbuyer bought \(Self.counter(buyer, "booksBoughtV1") ?? -1)")
        #expect(await Self.until(60) { (Self.counter(thief, "refused") ?? 0) >= 2 }, "bookthief refused \(Self.counter(thief, "refused") ?? -1)")
        #expect(Self.counter(thief, "booksStolen") == 0)
        // The supervisor's startup probe reached the sidecar (it stops once it succeeds) ... (read
        // until an answer: on a loaded machine one `curl -m 3` of /stats can time out)
        #expect(await Self.until(20) { (Self.sidecarStat(store, "runtime.probe.startup.rq_total") ?? 0) >= 1 })
        // ... and its liveness and readiness probes keep reaching the probe listeners (every 0.5 s here).
        for (netns, name) in [(store, "liveness"), (store, "readiness"), (warehouse, "healthcheck")] {
            var before: Int?
            _ = await Self.until(20) { before = Self.sidecarStat(netns, "runtime.probe.\(name).rq_total"); return before != nil }
            #expect(await Self.until(40) { (Self.sidecarStat(netns, "runtime.probe.\(name).rq_total") ?? 0) > (before ?? 0) }, "\(name) probes in \(netns)")
        }
        // A kubelet on the node gets the same answers: each rewritten port, from the host to the pod IP.
        let storeIP = try #require(state.pods.first { $0.pod == "bookstore/bookstore-0" }?.ip)
        let warehouseIP = try #require(state.pods.first { $0.pod == "bookwarehouse/bookwarehouse-0" }?.ip)
        for (ip, port, path, headers) in [(storeIP, 15901, "/fsm-liveness-probe", []), (storeIP, 15902, "/fsm-readiness-probe", []),
                                          (storeIP, 15903, "/fsm-startup-probe", []), (warehouseIP, 15904, "/fsm-healthcheck", [("Original-Tcp-Port", "14001")])] {
            let answer = try await MeshHTTP.request(host: ip, port: port, path: path, headers: headers + [("connection", "close")], timeout: .seconds(5))
            #expect(answer.status == 200, "\(ip):\(port)\(path)")
        }
        // The app port from outside the mesh goes to the sidecar's inbound listener, which wants mTLS.
        let plain = try? await MeshHTTP.request(host: storeIP, port: 14001, path: "/raw", headers: [("connection", "close")], timeout: .seconds(5))
        #expect(plain?.status != 200)
    }

    func checkNothingLeft(_ network: PodNetwork) {
        let namespaces = Self.host("ip", ["netns", "list"])?.output ?? ""
        for pod in network.pods { #expect(!namespaces.contains(pod.netns), "\(pod.netns) left behind") }
        let links = Self.host("ip", ["-o", "link"])?.output ?? ""
        #expect(!links.contains("fsm-\(network.tag)"), "links left behind: \(links)")
        let forward = Self.host("iptables", ["-S", "FORWARD"])?.output ?? ""
        #expect(!forward.contains("fsm up \(network.tag)"))
        let routes = Self.host("ip", ["-o", "-4", "route", "show", "root", network.subnet])?.output ?? "x"
        #expect(routes.isEmpty)
    }

    /// `fsm up` killed while it builds the pods leaves what it made recorded: `fsm down` stops the
    /// processes and removes every namespace, link and rule.
    @Test func downAfterACrashedUpLeavesNothing() async throws {
        let fsm = try #require(UpEndToEndTests.fsmPath())
        let blocks = try await TestAddressBlock.hold(["10.244.78", "10.96.78"])
        defer { blocks.forEach { $0.release() } }
        let (directory, manifests, stateDir) = try UpEndToEndTests.workspace("mesh-up-netns-crash")
        let log = (directory as NSString).appendingPathComponent("up.out")
        let up = try DetachedProcess.spawn(fsm, ["up", "--pods", "netns", "--manifests", manifests, "--state-dir", stateDir, "--first-pod-ip", "10.244.78.10",
                                                 "--first-service-ip", "10.96.78.10", "--timeout", "60"], log: log, newSession: false)
        // Killed once two pods are made: the bridge, the rule and two namespaces exist, the rest not.
        let made = await Self.until(60) { ((try? UpState.load(from: stateDir))??.network?.pods.count ?? 0) >= 2 }
        kill(up, SIGKILL)
        _ = await DetachedProcess.waitForExit(pid: up, timeout: .seconds(10))
        try #require(made, "fsm up made no pods: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let state = try #require(try UpState.load(from: stateDir))
        let network = try #require(state.network)
        let down = try await UpEndToEndTests.fsm(fsm, ["down", "--state-dir", stateDir], in: directory)
        #expect(down.status == 0, "fsm down failed: \(down.output)")
        for process in state.processes { #expect(!DetachedProcess.isRunning(pid: process.pid, startTime: process.startTime), "\(process.what)") }
        checkNothingLeft(network)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A pod this machine cannot run is one line naming the pod and the field, before anything is made.
    @Test func aPodThatCannotRunHereIsRefusedBeforeAnythingIsMade() async throws {
        let fsm = try #require(UpEndToEndTests.fsmPath())
        let blocks = try await TestAddressBlock.hold(["10.244.79", "10.96.79"])
        defer { blocks.forEach { $0.release() } }
        let (directory, manifests, stateDir) = try UpEndToEndTests.workspace("mesh-up-netns-badpod")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let buyer = (manifests as NSString).appendingPathComponent("10-bookbuyer.yaml")
        try String(contentsOfFile: buyer, encoding: .utf8).replacingOccurrences(of: "      serviceAccountName: bookbuyer\n", with: """
                  serviceAccountName: bookbuyer
                  volumes:
                    - name: host
                      hostPath: {path: /var/run}

            """).write(toFile: buyer, atomically: true, encoding: .utf8)
        let up = try await UpEndToEndTests.fsm(fsm, ["up", "--pods", "netns", "--manifests", manifests, "--state-dir", stateDir,
                                                     "--first-pod-ip", "10.244.79.10", "--first-service-ip", "10.96.79.10"], in: directory)
        #expect(up.status != 0)
        #expect(up.output.contains("pod bookbuyer/bookbuyer-0: spec.volumes[0]: volume host: a hostPath volume is not supported on one machine"), "\(up.output)")
        #expect(up.output.split(separator: "\n").count == 1, "\(up.output)")
        #expect(try UpState.load(from: stateDir) == nil)
        let links = Self.host("ip", ["-o", "link"])?.output ?? ""
        #expect(!links.contains("fsm-\(PodNetwork.tag(stateDirectory: stateDir))"))
    }

    @Test(arguments: [
        (["--netns", "n", "--mount", "relative:/x", "--", "/bin/true"], "--mount relative:/x: expected SOURCE:PATH[:ro] with absolute paths"),
        (["--netns", "n", "--env", "=x", "--", "/bin/true"], "--env =x: expected NAME=VALUE"),
        (["--netns", "n", "--user", "4294967296", "--", "/bin/true"], "--user and --group must be ids"),
        (["--netns", "n"], "give the program after --"),
    ])
    func fsmContainerRefusesBadArgumentsInOneLine(_ arguments: [String], _ message: String) throws {
        let fsm = try #require(UpEndToEndTests.fsmPath())
        let result = try Command.run(fsm, ["container"] + arguments)
        #expect(result.status != 0)
        #expect(result.errorOutput.contains(message), "\(result.errorOutput)")
    }

    @Test(.enabled(if: CaptureTestEnvironment.tool("setpriv") != nil, "needs setpriv to run fsm as another user"))
    func withoutRootItRefusesInOneLine() async throws {
        let fsm = try #require(UpEndToEndTests.fsmPath())
        let directory = NSTemporaryDirectory() + "mesh-up-netns-nonroot-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let setpriv = try #require(CaptureTestEnvironment.tool("setpriv"))
        let result = try Command.run(setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", fsm, "up", "--pods", "netns",
                                               "--manifests", SampleManifestsTests.samples, "--state-dir", directory + "/state"])
        #expect(result.status != 0)
        let lines = result.errorOutput.split(separator: "\n")
        #expect(lines.count == 1, "\(result.errorOutput)")
        #expect(result.errorOutput.contains("needs root") && result.errorOutput.contains("uid 65534"), "\(result.errorOutput)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/state"))
    }
}
