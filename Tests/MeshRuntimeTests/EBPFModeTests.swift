import Foundation
import MeshInterceptorBPF
import MeshModel
import MeshShell
import MeshTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `fsm sidecar --capture ebpf` for real, with no iptables rule anywhere: two pods (a network
/// namespace and a cgroup v2 directory each, client 10.87.0.1 and server 10.87.0.2 joined by a
/// veth pair; the service's cluster IP 10.96.87.10 exists only in the client's config), one
/// `fsm interceptor` capturing both, a sidecar per pod in the pod's sidecar cgroup (it switches to
/// uid 1500), a python app on the server pod's loopback and curl or python as the client app.
@Suite(
    .serialized,
    .timeLimit(.minutes(3)),
    .enabled(if: EBPFModeEnvironment.isAvailable, Comment(rawValue: EBPFModeEnvironment.unavailableReason ?? "root, cgroup v2, curl, python3 and the eBPF object are available"))
)
struct EBPFModeTests {
    static let clientIP = "10.87.0.1"
    static let serverIP = "10.87.0.2"
    static let serviceIP = "10.96.87.10"
    static let tcpPort = 9000

    let fsm: String
    let curl: String
    let python: String

    init() throws {
        fsm = try #require(EBPFModeEnvironment.binary("fsm"), "fsm was not built next to the tests (swift build --build-tests)")
        curl = try #require(EBPFModeEnvironment.tool("curl"))
        python = try #require(EBPFModeEnvironment.tool("python3"))
    }

    /// The two pods, their sidecars (configs written to a directory uid 1500 can read), the
    /// server's app, and the interceptor; `body` gets the pods; the interceptor's final output
    /// (with its counters) is returned.
    @discardableResult
    func withMesh(client: ProxyConfig, server: ProxyConfig, serverApp: [String], appReadyLine: String, accelerate: Bool = true,
                  _ body: (Mesh) throws -> Void) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ebpf-mode-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        try MeshPair.write(client, to: directory.appendingPathComponent("client.json"))
        try MeshPair.write(server, to: directory.appendingPathComponent("server.json"))
        let clientPod = try CapturePod("client", address: Self.clientIP)
        defer { clientPod.delete() }
        let serverPod = try CapturePod("server", address: Self.serverIP)
        defer { serverPod.delete() }
        try clientPod.namespace.connect(to: serverPod.namespace, address: Self.clientIP, otherAddress: Self.serverIP)
        let interceptor = try TestInterceptor.start(fsm: fsm, entries: [clientPod.podsFileEntry(), serverPod.podsFileEntry()],
                                                    arguments: accelerate ? [] : ["--no-accelerate"])
        try #require(interceptor.started, "fsm interceptor did not start: \(interceptor.command.seen)")
        var mesh = Mesh(client: clientPod, server: serverPod, directory: directory, fsm: fsm)
        do {
            let app = try serverPod.namespace.start(serverApp, readyLine: appReadyLine, cgroup: serverPod.appCgroup)
            app.drainOutput()
            try mesh.startSidecar(.client)
            try mesh.startSidecar(.server)
            try body(mesh)
        } catch {
            _ = interceptor.stop()
            throw error
        }
        return interceptor.stop()
    }

    struct Mesh {
        enum Side { case client, server }
        let client: CapturePod
        let server: CapturePod
        let directory: URL
        let fsm: String
        var sidecars: [Side: RunningCommand] = [:]

        init(client: CapturePod, server: CapturePod, directory: URL, fsm: String) {
            self.client = client
            self.server = server
            self.directory = directory
            self.fsm = fsm
        }

        mutating func startSidecar(_ side: Side) throws {
            let pod = side == .client ? client : server
            let config = directory.appendingPathComponent(side == .client ? "client.json" : "server.json").path
            let sidecar = try pod.namespace.start([fsm, "sidecar", "--capture", "ebpf", "--pod-ip", pod.address, "--config", config, "--insecure-plaintext-peers", "--log-level", "info"],
                                                  readyLine: "sidecar started", cgroup: pod.sidecarCgroup)
            sidecar.drainOutput()
            try #require(sidecar.seen.contains("sidecar started"), "sidecar in \(pod.name): \(sidecar.seen)")
            // It asked the kernel before switching to the proxy uid: the interceptor captures it.
            #expect(sidecar.seen.contains("eBPF capture is in force for this sidecar's cgroup"), "\(sidecar.seen)")
            sidecars[side] = sidecar
        }

        func killSidecar(_ side: Side) {
            guard let sidecar = sidecars[side] else { return }
            sidecar.process.send(SIGKILL)
            sidecar.process.wait()
        }

        func stats(_ side: Side, python: String) throws -> [String: UInt64] {
            let pod = side == .client ? client : server
            let read = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:15000/stats').read().decode())"
            return parseStats(try pod.app([python, "-c", read]).output)
        }
    }

    func clientConfig() -> ProxyConfig {
        var client = MeshPair.clientConfig(serverIP: Self.serverIP)
        client.outbound.trafficMatches[0].destinationIPRanges = ["\(Self.serviceIP)/32"]
        return client
    }

    func serverConfig() -> ProxyConfig {
        var server = MeshPair.serverConfig(serverIP: Self.serverIP)
        server.inbound.clustersConfigs[0].endpoints = [ClusterEndpoint(address: "127.0.0.1:\(MeshPair.appPort)")]
        return server
    }

    func httpApp(_ directory: URL) throws -> [String] {
        let site = directory.appendingPathComponent("site-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try Data("hello through ebpf\n".utf8).write(to: site.appendingPathComponent("hello.txt"))
        return [python, "-u", "-m", "http.server", String(MeshPair.appPort), "--bind", "127.0.0.1", "--directory", site.path]
    }

    /// curl as the client pod's app: status line last.
    func get(_ mesh: Mesh, _ url: String, asApp: Bool = true) throws -> (body: String, status: String, exit: Int32) {
        let arguments = [curl, "-s", "-m", "10", "-o", "-", "-w", "\n%{http_code}", "-H", "Host: echo:8080", url]
        let result = asApp ? try mesh.client.app(arguments) : try mesh.client.namespace.exec(arguments)
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        let body = lines.dropLast().joined(separator: "\n").trimmingCharacters(in: .newlines)
        return (body, String(lines.last ?? ""), result.status)
    }

    @Test(arguments: [true, false])
    func capturedRequestCrossesBothSidecarsByOriginalDestination(accelerate: Bool) throws {
        let siteRoot = FileManager.default.temporaryDirectory.appendingPathComponent("ebpf-site-\(getpid())")
        defer { try? FileManager.default.removeItem(at: siteRoot) }
        let output = try withMesh(client: clientConfig(), server: serverConfig(), serverApp: try httpApp(siteRoot), appReadyLine: "Serving HTTP", accelerate: accelerate) { mesh in
            // The client app calls the service by its cluster IP, as after a DNS lookup of echo.
            let answer = try get(mesh, "http://\(Self.serviceIP):\(MeshPair.appPort)/hello.txt")
            #expect(answer.body == "hello through ebpf", "curl: \(answer)")
            #expect(answer.status == "200")
            let clientStats = try mesh.stats(.client, python: python)
            #expect(clientStats["cluster.default/echo|8080.upstream_rq_total"] == 1)
            #expect(try mesh.stats(.server, python: python)["inbound.cx_total"] == 1)

            // Only the original destination tells this one apart: no traffic match for port 9090.
            let unknown = try get(mesh, "http://\(Self.serviceIP):9090/hello.txt")
            #expect(unknown.status != "200" && unknown.status != "")
            let again = try get(mesh, "http://\(Self.serviceIP):\(MeshPair.appPort)/hello.txt")
            #expect(again.status == "200")
        }
        // No loop: the app's three connections went to the outbound listener, the client
        // sidecar's own upstream connections to the server's inbound listener, never back to
        // its own; every original destination was found.
        #expect(output.contains("outbound_redirected=3 "), "\(output)")
        #expect(output.contains("original_dst_missing=0 "), "\(output)")
        #expect(counter("local_inbound_redirected", in: output) >= 1, "\(output)")
        let shortcut = counter("messages_redirected", in: output)
        #expect(accelerate ? shortcut > 0 : shortcut == 0, "\(output)")
    }

    /// A server-first TCP app (it greets before the client says anything, as MySQL does); the
    /// client sidecar relays the captured connection by its original destination at once.
    @Test func capturedServerFirstTCPIsRelayedWithoutParsing() throws {
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
        try withMesh(client: client, server: server, serverApp: [python, "-u", "-c", serverApp], appReadyLine: "listening") { mesh in
            let answer = try mesh.client.app([python, "-c", clientApp])
            #expect(answer.output.trimmingCharacters(in: .whitespacesAndNewlines) == "hello from db|echo ping", "client: \(answer.output) \(answer.errorOutput)")
            #expect(try mesh.stats(.client, python: python)["cluster.default/db|9000.upstream_cx_total"] == 1)
        }
    }

    /// Inbound from a process of no meshed pod (curl in the client's namespace but outside its
    /// cgroup, so its connect is not captured): the server pod's tc programs still send it to
    /// the inbound listener, as iptables' PREROUTING rules would, where the mesh's border refuses
    /// a client without a mesh identity (no AccessControl admits it; DECISIONS 110).
    @Test func inboundFromAnUnmeshedClientIsCapturedToo() throws {
        let siteRoot = FileManager.default.temporaryDirectory.appendingPathComponent("ebpf-site-in-\(getpid())")
        defer { try? FileManager.default.removeItem(at: siteRoot) }
        let output = try withMesh(client: clientConfig(), server: serverConfig(), serverApp: try httpApp(siteRoot), appReadyLine: "Serving HTTP") { mesh in
            let answer = try get(mesh, "http://\(Self.serverIP):\(MeshPair.appPort)/hello.txt", asApp: false)
            #expect(answer.status == "000", "curl: \(answer)")
            #expect(try mesh.stats(.server, python: python)["inbound.cx_no_identity"] == 1)
        }
        #expect(output.contains("outbound_redirected=0 "), "\(output)")
        #expect(counter("inbound_redirected", in: output) == 1, "\(output)")
    }

    /// While a sidecar is down its pod's new connections are refused at once (nothing black-holes
    /// them): the app's own, and its peers' (the client sidecar answers 503). Back when it is.
    @Test func aDeadSidecarRefusesNewConnectionsUntilItIsBack() throws {
        let siteRoot = FileManager.default.temporaryDirectory.appendingPathComponent("ebpf-site-down-\(getpid())")
        defer { try? FileManager.default.removeItem(at: siteRoot) }
        try withMesh(client: clientConfig(), server: serverConfig(), serverApp: try httpApp(siteRoot), appReadyLine: "Serving HTTP") { mesh in
            var mesh = mesh
            let url = "http://\(Self.serviceIP):\(MeshPair.appPort)/hello.txt"
            #expect(try get(mesh, url).status == "200")

            mesh.killSidecar(.server)
            let started = Date()
            let peerDown = try get(mesh, url)
            #expect(peerDown.status == "503", "\(peerDown)")
            #expect(Date().timeIntervalSince(started) < 5, "the client sidecar waited for a connection nobody refused")

            mesh.killSidecar(.client)
            let appDown = try get(mesh, url)
            #expect(appDown.exit == 7, "curl should fail to connect at once (exit 7), got \(appDown)")
            #expect(appDown.status == "000")

            try mesh.startSidecar(.server)
            try mesh.startSidecar(.client)
            #expect(try get(mesh, url).status == "200")
        }
    }

    func counter(_ name: String, in output: String) -> Int { TestInterceptor.counter(name, in: output) }
}

/// What the eBPF mode tests need: root and network namespaces, cgroup v2, curl, python3, and an
/// fsm built with its eBPF object.
enum EBPFModeEnvironment {
    static func tool(_ name: String) -> String? { CaptureTestEnvironment.tool(name) }
    static func binary(_ name: String) -> String? { CaptureTestEnvironment.binary(name) }
    static let unavailableReason = EBPFTestEnvironment.unavailableReason(needing: ["ip", "nsenter", "curl", "python3"], objectProblem: InterceptorObject.unavailableReason)
    static var isAvailable: Bool { EBPFTestEnvironment.isAvailable(unavailableReason, suite: "EBPFModeTests") }
}
