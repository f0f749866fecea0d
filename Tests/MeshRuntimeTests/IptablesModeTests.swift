import Foundation
import MeshModel
import MeshRedirect
import MeshRuntime
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `fsm sidecar --capture iptables` for real: two pod network namespaces joined by a veth pair
/// (addresses 10.86.0.1 and 10.86.0.2, the service's cluster IP 10.96.86.10, all private to the
/// namespaces), a sidecar process in each that loads the nat rules itself and then runs as uid
/// 1500, a python HTTP app on the server pod's loopback and curl as the client app. The client
/// dials the cluster IP; its pod's rules send that to the client sidecar's 15001, which routes
/// it per its config to the server pod's IP and app port; the server pod's rules send that to its
/// sidecar's 15003, which hands it to the app on 127.0.0.1:8080; the answer goes back the same way.
@Suite(
    .serialized,
    .timeLimit(.minutes(2)),
    .enabled(if: IptablesEnvironment.isAvailable, Comment(rawValue: IptablesEnvironment.unavailableReason ?? "root, iproute2, iptables, curl and python3 are available"))
)
struct IptablesModeTests {
    static let clientIP = "10.86.0.1"
    static let serverIP = "10.86.0.2"
    static let serviceIP = "10.96.86.10"

    @Test func capturedRequestCrossesBothSidecarsByOriginalDestination() throws {
        let fsm = try #require(IptablesEnvironment.binary("fsm"), "fsm was not built next to the tests (swift build --build-tests builds it)")
        let curl = try #require(IptablesEnvironment.tool("curl"))
        let python = try #require(IptablesEnvironment.tool("python3"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hd-iptables-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        let site = directory.appendingPathComponent("site")
        try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try Data("hello through iptables\n".utf8).write(to: site.appendingPathComponent("hello.txt"))

        var client = MeshPair.clientConfig(serverIP: Self.serverIP)
        client.outbound.trafficMatches[0].destinationIPRanges = ["\(Self.serviceIP)/32"]
        var server = MeshPair.serverConfig(serverIP: Self.serverIP)
        // The app listens on the server pod's own loopback, as FSM's local clusters say.
        server.inbound.clustersConfigs[0].endpoints = [ClusterEndpoint(address: "127.0.0.1:\(MeshPair.appPort)")]
        try MeshPair.write(client, to: directory.appendingPathComponent("client.json"))
        try MeshPair.write(server, to: directory.appendingPathComponent("server.json"))

        try withPodNamespaces { clientPod, serverPod in
            try clientPod.ip(["link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", serverPod.name])
            try clientPod.ip(["addr", "add", "\(Self.clientIP)/24", "dev", "v0"])
            try serverPod.ip(["addr", "add", "\(Self.serverIP)/24", "dev", "v1"])
            try clientPod.ip(["link", "set", "v0", "up"])
            try serverPod.ip(["link", "set", "v1", "up"])
            // The cluster IP is routed (as kube-proxy's would be) so that connect() reaches the nat table.
            try clientPod.ip(["route", "add", "default", "dev", "v0"])

            _ = try serverPod.start([python, "-u", "-m", "http.server", String(MeshPair.appPort), "--bind", "127.0.0.1", "--directory", site.path],
                                    readyLine: "Serving HTTP")
            for (pod, ip, config) in [(clientPod, Self.clientIP, "client.json"), (serverPod, Self.serverIP, "server.json")] {
                let sidecar = try pod.start([fsm, "sidecar", "--capture", "iptables", "--apply-iptables", "--pod-ip", ip,
                                             "--config", directory.appendingPathComponent(config).path, "--insecure-plaintext-peers"],
                                            readyLine: "sidecar started")
                #expect(sidecar.contains("sidecar started"), "sidecar in \(pod.name): \(sidecar)")
            }

            // The client app calls the service by its cluster IP, as after a DNS lookup of echo.
            let answer = try clientPod.exec([curl, "-s", "-m", "20", "-o", "-", "-w", "\n%{http_code}", "-H", "Host: echo:8080",
                                             "http://\(Self.serviceIP):\(MeshPair.appPort)/hello.txt"])
            #expect(answer.output.hasPrefix("hello through iptables"), "curl: \(answer.output) \(answer.errorOutput)")
            #expect(answer.output.hasSuffix("200"))

            // Both sidecars saw it: the admin ports answer on each pod's loopback (not captured).
            let clientStats = parseStats(try clientPod.exec([curl, "-s", "-m", "10", "http://127.0.0.1:15010/stats"]).output)
            let serverStats = parseStats(try serverPod.exec([curl, "-s", "-m", "10", "http://127.0.0.1:15010/stats"]).output)
            #expect(clientStats["cluster.default/echo|8080.upstream_rq_total"] == 1)
            #expect(serverStats["inbound.cx_total"] == 1)

            // A destination port no traffic match names is refused by the engine, not passed through.
            // The Host header still says echo:8080: only the original destination (SO_ORIGINAL_DST)
            // tells this request apart from the one above.
            let unknown = try clientPod.exec([curl, "-s", "-m", "20", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: echo:8080",
                                              "http://\(Self.serviceIP):9090/hello.txt"])
            #expect(unknown.output != "200")
            #expect(unknown.output != "")
            // And the mesh still works afterwards.
            let again = try clientPod.exec([curl, "-s", "-m", "20", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: echo:8080",
                                            "http://\(Self.serviceIP):\(MeshPair.appPort)/hello.txt"])
            #expect(again.output == "200")
        }
    }
}

extension IptablesModeTests {
    static let tcpPort = 9000

    /// A server-first TCP app (it greets before the client says anything, as MySQL does) on the
    /// server pod's loopback; the client app dials the cluster IP. The client sidecar must relay
    /// the captured connection by its original destination without waiting for a byte.
    @Test func capturedServerFirstTCPIsRelayedWithoutParsing() throws {
        let fsm = try #require(IptablesEnvironment.binary("fsm"), "fsm was not built next to the tests (swift build --build-tests builds it)")
        let python = try #require(IptablesEnvironment.tool("python3"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hd-iptables-tcp-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        let client = ProxyConfig(
            version: "tcp-client", serviceIdentity: MeshPair.clientIdentity,
            outbound: OutboundConfig(
                trafficMatches: [OutboundTrafficMatch(port: Self.tcpPort, appProtocol: .tcpServerFirst, destinationIPRanges: ["\(Self.serviceIP)/32"],
                                                      targetClusters: [WeightedCluster(name: "default/db|9000", weight: 100)], serviceIdentity: MeshPair.clientIdentity)],
                clustersConfigs: [ClusterConfig(name: "default/db|9000", endpoints: [ClusterEndpoint(address: "\(Self.serverIP):\(Self.tcpPort)")])]))
        let server = ProxyConfig(
            version: "tcp-server", serviceIdentity: "db.default.cluster.local",
            inbound: InboundConfig(
                trafficMatches: [InboundTrafficMatch(port: Self.tcpPort, appProtocol: .tcpServerFirst,
                                                     targetClusters: [WeightedCluster(name: "default/db|9000|local", weight: 100)], allowedEndpoints: nil)],
                clustersConfigs: [ClusterConfig(name: "default/db|9000|local", endpoints: [ClusterEndpoint(address: "127.0.0.1:\(Self.tcpPort)")])]))
        try MeshPair.write(client, to: directory.appendingPathComponent("client.json"))
        try MeshPair.write(server, to: directory.appendingPathComponent("server.json"))
        let serverApp = """
        import socket
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", \(Self.tcpPort))); s.listen(8); print("listening", flush=True)
        while True:
            c, _ = s.accept(); c.sendall(b"hello from db\\n")
            data = c.recv(100); c.sendall(b"echo " + data); c.close()
        """
        let clientApp = """
        import socket
        c = socket.create_connection(("\(Self.serviceIP)", \(Self.tcpPort)), timeout=15)
        greeting = c.recv(100).decode()
        c.sendall(b"ping"); answer = b""
        while len(answer) < 9:
            part = c.recv(100)
            if not part: break
            answer += part
        print(greeting.strip() + "|" + answer.decode())
        """

        try withPodNamespaces { clientPod, serverPod in
            try clientPod.ip(["link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", serverPod.name])
            try clientPod.ip(["addr", "add", "\(Self.clientIP)/24", "dev", "v0"])
            try serverPod.ip(["addr", "add", "\(Self.serverIP)/24", "dev", "v1"])
            try clientPod.ip(["link", "set", "v0", "up"])
            try serverPod.ip(["link", "set", "v1", "up"])
            try clientPod.ip(["route", "add", "default", "dev", "v0"])
            _ = try serverPod.start([python, "-u", "-c", serverApp], readyLine: "listening")
            for (pod, ip, config) in [(clientPod, Self.clientIP, "client.json"), (serverPod, Self.serverIP, "server.json")] {
                let sidecar = try pod.start([fsm, "sidecar", "--capture", "iptables", "--apply-iptables", "--pod-ip", ip,
                                             "--config", directory.appendingPathComponent(config).path, "--insecure-plaintext-peers"],
                                            readyLine: "sidecar started")
                #expect(sidecar.contains("sidecar started"), "sidecar in \(pod.name): \(sidecar)")
            }
            let answer = try clientPod.exec([python, "-c", clientApp])
            #expect(answer.output.trimmingCharacters(in: .whitespacesAndNewlines) == "hello from db|echo ping", "client: \(answer.output) \(answer.errorOutput)")
            let clientStats = parseStats(try clientPod.exec([python, "-c", "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:15010/stats').read().decode())"]).output)
            #expect(clientStats["cluster.default/db|9000.upstream_cx_total"] == 1)
        }
    }
}

/// What the test needs: root, iproute2, iptables, curl, python3, and the right to create
/// network namespaces.
enum IptablesEnvironment {
    static let searchPath = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"]
        + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)

    static func tool(_ name: String) -> String? {
        searchPath.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let unavailableReason: String? = {
        #if os(Linux)
        let uid = geteuid()
        if uid != 0 { return "iptables capture needs root to create network namespaces and nat rules (running as uid \(uid))" }
        for name in ["ip", "iptables-restore", "curl", "python3"] where tool(name) == nil {
            return "iptables capture test needs `\(name)`"
        }
        guard let ip = tool("ip"), let created = try? PodNamespace.run(ip, ["netns", "add", "hd-check-\(getpid())"]) else {
            return "cannot run `ip netns add`"
        }
        if created.status != 0 { return "cannot create a network namespace: \(created.errorOutput)" }
        _ = try? PodNamespace.run(ip, ["netns", "delete", "hd-check-\(getpid())"])
        if binary("fsm") == nil { return "the fsm binary was not built (swift build --build-tests)" }
        return nil
        #else
        return "iptables capture needs Linux netfilter"
        #endif
    }()

    static var isAvailable: Bool {
        if let reason = unavailableReason {
            print("IptablesModeTests: skipping the iptables capture test: \(reason)")
            return false
        }
        return true
    }

    /// A product built next to the test bundle, or in the package's `.build/debug`.
    static func binary(_ name: String, filePath: String = #filePath) -> String? {
        var candidates: [URL] = []
        if let first = CommandLine.arguments.first { candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent()) }
        for bundle in Bundle.allBundles { candidates.append(bundle.bundleURL.deletingLastPathComponent()) }
        let packageRoot = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug"))
        return candidates.map { $0.appendingPathComponent(name).path }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// A pod's network namespace (`hd-<pid>-<n>-<purpose>`), deleted with what runs in it.
final class PodNamespace {
    struct Result {
        var status: Int32
        var output: String
        var errorOutput: String
    }

    let name: String
    private let ipTool: String
    private var started: [Process] = []
    private static let counter = Mutex(0)

    init(purpose: String) throws {
        ipTool = IptablesEnvironment.tool("ip") ?? "/usr/sbin/ip"
        let serial = Self.counter.withLock { value in
            value += 1
            return value
        }
        name = "hd-\(getpid())-\(serial)-\(purpose)"
        try check(Self.run(ipTool, ["netns", "add", name]), "ip netns add \(name)")
        try ip(["link", "set", "lo", "up"])
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self), errorOutput: String(decoding: err, as: UTF8.self))
    }

    func ip(_ arguments: [String]) throws {
        try check(Self.run(ipTool, ["-n", name] + arguments), "ip \(arguments.joined(separator: " "))")
    }

    func exec(_ arguments: [String]) throws -> Result {
        try Self.run(ipTool, ["netns", "exec", name] + arguments)
    }

    /// Starts a long-running command in the namespace; returns what it printed up to `readyLine`
    /// (or until it exited).
    func start(_ arguments: [String], readyLine: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ipTool)
        process.arguments = ["netns", "exec", name] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        started.append(process)
        var seen = ""
        while !seen.contains(readyLine) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        // Keep draining its output so that it never blocks on a full pipe.
        output.fileHandleForReading.readabilityHandler = { handle in _ = handle.availableData }
        return seen
    }

    func delete() {
        for process in started where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        _ = try? Self.run(ipTool, ["netns", "delete", name])
    }

    private func check(_ result: Result, _ what: String) throws {
        if result.status != 0 { throw IptablesTestError(message: "\(what) failed (\(result.status)): \(result.errorOutput)") }
    }
}

struct IptablesTestError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A client pod and a server pod namespace, deleted (with what runs in them) whatever happens.
func withPodNamespaces(_ body: (PodNamespace, PodNamespace) throws -> Void) throws {
    let client = try PodNamespace(purpose: "client")
    defer { client.delete() }
    let server = try PodNamespace(purpose: "server")
    defer { server.delete() }
    try body(client, server)
}
