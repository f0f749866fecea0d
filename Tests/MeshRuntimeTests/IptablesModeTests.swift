import Foundation
import MeshModel
import MeshRedirect
import MeshRuntime
import MeshTesting
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

            _ = try serverPod.startDraining([python, "-u", "-m", "http.server", String(MeshPair.appPort), "--bind", "127.0.0.1", "--directory", site.path],
                                    readyLine: "Serving HTTP")
            for (pod, ip, config) in [(clientPod, Self.clientIP, "client.json"), (serverPod, Self.serverIP, "server.json")] {
                let sidecar = try pod.startDraining([fsm, "sidecar", "--capture", "iptables", "--apply-iptables", "--pod-ip", ip,
                                             "--config", directory.appendingPathComponent(config).path, "--insecure-plaintext-peers", "--log-level", "info"],
                                            readyLine: "sidecar started")
                #expect(sidecar.contains("sidecar started"), "sidecar in \(pod.name): \(sidecar)")
            }

            // The client app calls the service by its cluster IP, as after a DNS lookup of echo.
            let answer = try clientPod.exec([curl, "-s", "-m", "20", "-o", "-", "-w", "\n%{http_code}", "-H", "Host: echo:8080",
                                             "http://\(Self.serviceIP):\(MeshPair.appPort)/hello.txt"])
            #expect(answer.output.hasPrefix("hello through iptables"), "curl: \(answer.output) \(answer.errorOutput)")
            #expect(answer.output.hasSuffix("200"))

            // Both sidecars saw it: the admin ports answer on each pod's loopback (not captured).
            let clientStats = parseStats(try clientPod.exec([curl, "-s", "-m", "10", "http://127.0.0.1:15000/stats"]).output)
            let serverStats = parseStats(try serverPod.exec([curl, "-s", "-m", "10", "http://127.0.0.1:15000/stats"]).output)
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
            _ = try serverPod.startDraining([python, "-u", "-c", serverApp], readyLine: "listening")
            for (pod, ip, config) in [(clientPod, Self.clientIP, "client.json"), (serverPod, Self.serverIP, "server.json")] {
                let sidecar = try pod.startDraining([fsm, "sidecar", "--capture", "iptables", "--apply-iptables", "--pod-ip", ip,
                                             "--config", directory.appendingPathComponent(config).path, "--insecure-plaintext-peers", "--log-level", "info"],
                                            readyLine: "sidecar started")
                #expect(sidecar.contains("sidecar started"), "sidecar in \(pod.name): \(sidecar)")
            }
            let answer = try clientPod.exec([python, "-c", clientApp])
            #expect(answer.output.trimmingCharacters(in: .whitespacesAndNewlines) == "hello from db|echo ping", "client: \(answer.output) \(answer.errorOutput)")
            let clientStats = try Self.sidecarStats(clientPod, python: python)
            #expect(clientStats["cluster.default/db|9000.upstream_cx_total"] == 1)
        }
    }
}

/// What the tests need: root, iproute2, iptables, curl, python3, the right to create network
/// namespaces (MeshTesting's `CaptureTestEnvironment`), and the `fsm` binary.
enum IptablesEnvironment {
    static func tool(_ name: String) -> String? { CaptureTestEnvironment.tool(name) }
    static func binary(_ name: String) -> String? { CaptureTestEnvironment.binary(name) }

    static let unavailableReason: String? = {
        if let reason = CaptureTestEnvironment.unavailableReason(needing: ["ip", "iptables-restore", "curl", "python3"]) { return reason }
        return binary("fsm") == nil ? "the fsm binary was not built (swift build --build-tests)" : nil
    }()

    /// For `.enabled(if:)`, whose comment carries `unavailableReason`.
    static var isAvailable: Bool { unavailableReason == nil }
}

extension NetworkNamespace {
    /// Starts a long-running command; returns what it printed up to `readyLine`.
    func startDraining(_ arguments: [String], readyLine: String) throws -> String {
        let command = try start(arguments, readyLine: readyLine)
        command.drainOutput()
        return command.seen
    }
}

/// A client pod and a server pod namespace joined by a veth pair (client 10.86.0.1, server
/// 10.86.0.2, the client's default route through the pair), deleted with what runs in them.
func withPodNamespaces(_ body: (NetworkNamespace, NetworkNamespace) throws -> Void) throws {
    try withNamespaces(["client", "server"]) { pods in
        try pods[0].connect(to: pods[1], address: IptablesModeTests.clientIP, otherAddress: IptablesModeTests.serverIP)
        try body(pods[0], pods[1])
    }
}

extension IptablesModeTests {
    static let egressPort = 9100

    /// Egress under capture (DECISIONS 172): the client's Egress rule names raw TCP on a port no
    /// traffic match claims, so its sidecar relays the captured connection from its first byte,
    /// in plain, to the original destination (a server outside the mesh); another port is refused.
    @Test func capturedTCPAnEgressRuleAllowsGoesToItsOriginalDestination() throws {
        var client = ProxyConfig(version: "egress-client", serviceIdentity: MeshPair.clientIdentity)
        client.spec.egressPolicy = EgressPolicySpec(rules: [EgressRule(policy: "default/outside-tcp", port: Self.egressPort, protocol: .tcp)])
        let outsideApp = """
        import socket
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", \(Self.egressPort))); s.listen(8); print("listening", flush=True)
        while True:
            c, _ = s.accept(); data = c.recv(100); c.sendall(b"echo " + data); c.close()
        """
        func clientApp(port: Int) -> String {
            """
            import socket
            try:
                c = socket.create_connection(("\(Self.serverIP)", \(port)), timeout=5)
                c.sendall(b"ping"); print(c.recv(100).decode() or "closed")
            except Exception as e:
                print("refused")
            """
        }
        try Self.withCapturedClient(client, outsideApp: outsideApp) { clientPod, serverPod, python in
            let allowed = try clientPod.exec([python, "-c", clientApp(port: Self.egressPort)])
            #expect(allowed.output.trimmingCharacters(in: .whitespacesAndNewlines) == "echo ping", "client: \(allowed.output) \(allowed.errorOutput)")
            let other = try clientPod.exec([python, "-c", clientApp(port: Self.egressPort + 1)])
            #expect(other.output.trimmingCharacters(in: .whitespacesAndNewlines) != "echo ping")
            let stats = try Self.sidecarStats(clientPod, python: python)
            #expect(stats["outbound.egress_policy_allowed"] == 1)
        }
    }
}

extension IptablesModeTests {
    /// Passthrough under capture (DECISIONS 172): with `enableEgress` and no rule naming the port,
    /// the first bytes decide; raw TCP (here a client-first echo protocol) is relayed as is.
    @Test func capturedRawTCPPassesThroughWithEgressOn() throws {
        var client = ProxyConfig(version: "passthrough-client", serviceIdentity: MeshPair.clientIdentity)
        client.spec.enableEgress = true
        let outsideApp = """
        import socket
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", \(Self.egressPort))); s.listen(8); print("listening", flush=True)
        while True:
            c, _ = s.accept(); data = c.recv(100); c.sendall(b"echo " + data); c.close()
        """
        let clientApp = """
        import socket
        c = socket.create_connection(("\(Self.serverIP)", \(Self.egressPort)), timeout=5)
        c.sendall(b"\\x16\\x03\\x01ping"); print(c.recv(100)[8:].decode() or "closed")
        """
        try Self.withCapturedClient(client, outsideApp: outsideApp) { clientPod, serverPod, python in
            let answer = try clientPod.exec([python, "-c", clientApp])
            #expect(answer.output.trimmingCharacters(in: .whitespacesAndNewlines) == "ping", "client: \(answer.output) \(answer.errorOutput)")
            // HTTP to an address outside the mesh still goes through the HTTP path.
            _ = try serverPod.startDraining([python, "-u", "-m", "http.server", String(Self.egressPort + 1), "--bind", "0.0.0.0"], readyLine: "Serving HTTP")
            let curl = try #require(IptablesEnvironment.tool("curl"))
            let http = try clientPod.exec([curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "http://\(Self.serverIP):\(Self.egressPort + 1)/"])
            #expect(http.output == "200", "curl: \(http.output) \(http.errorOutput)")
            let stats = try Self.sidecarStats(clientPod, python: python)
            #expect(stats["outbound.egress_passthrough"] == 2)
        }
    }
}

extension IptablesModeTests {
    /// HTTPS egress by SNI under capture (DECISIONS 198): an `https` Egress rule naming a host on a
    /// port makes the sidecar read the captured connection's ClientHello (NIO's SNIHandler) before
    /// the engine decides; the name the rule lists goes out, another name on the same address and
    /// port is refused. The outside server is a plain echo: what matters is whether the ClientHello
    /// reaches it.
    @Test func capturedTLSIsAllowedByItsServerName() throws {
        let port = Self.egressPort + 2
        var client = ProxyConfig(version: "sni-client", serviceIdentity: MeshPair.clientIdentity)
        client.spec.egressPolicy = EgressPolicySpec(rules: [EgressRule(policy: "curl/httpbin-443", port: port, protocol: .https, hosts: ["httpbin.test"])])
        let outsideApp = """
        import socket
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", \(port))); s.listen(8); print("listening", flush=True)
        while True:
            c, _ = s.accept(); data = c.recv(4096); c.sendall(b"echo %d" % (data[0] if data else 0)); c.close()
        """
        // The ClientHello as the ssl module writes it into its outgoing BIO.
        func helloClient(serverName: String) -> String {
            """
            import socket, ssl
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="\(serverName)")
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                pass
            try:
                c = socket.create_connection(("\(Self.serverIP)", \(port)), timeout=5)
                c.sendall(outgoing.read()); print(c.recv(100).decode() or "closed")
            except Exception as e:
                print("refused")
            """
        }
        try Self.withCapturedClient(client, outsideApp: outsideApp) { clientPod, serverPod, python in
            let allowed = try clientPod.exec([python, "-c", helloClient(serverName: "httpbin.test")])
            // 22: a TLS handshake record reached the destination.
            #expect(allowed.output.trimmingCharacters(in: .whitespacesAndNewlines) == "echo 22", "client: \(allowed.output) \(allowed.errorOutput)")
            let other = try clientPod.exec([python, "-c", helloClient(serverName: "other.test")])
            #expect(other.output.trimmingCharacters(in: .whitespacesAndNewlines) != "echo 22", "client: \(other.output)")
            let stats = try Self.sidecarStats(clientPod, python: python)
            #expect(stats["outbound.egress_policy_allowed"] == 1)
            #expect(stats["outbound.no_route"] == 1)
        }
    }
}

extension IptablesModeTests {
    /// A client pod whose sidecar runs under iptables capture with `config`, beside a server pod
    /// running the python program `outsideApp` (it prints "listening" when ready); `body` gets
    /// both pods and python's path once the sidecar has started.
    static func withCapturedClient(_ config: ProxyConfig, outsideApp: String,
                                   _ body: (_ clientPod: NetworkNamespace, _ serverPod: NetworkNamespace, _ python: String) throws -> Void) throws {
        let fsm = try #require(IptablesEnvironment.binary("fsm"), "fsm was not built next to the tests (swift build --build-tests builds it)")
        let python = try #require(IptablesEnvironment.tool("python3"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hd-iptables-\(config.version)-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: directory) }
        try MeshPair.write(config, to: directory.appendingPathComponent("client.json"))
        try withPodNamespaces { clientPod, serverPod in
            _ = try serverPod.startDraining([python, "-u", "-c", outsideApp], readyLine: "listening")
            let sidecar = try clientPod.startDraining([fsm, "sidecar", "--capture", "iptables", "--apply-iptables", "--pod-ip", Self.clientIP,
                                                       "--config", directory.appendingPathComponent("client.json").path, "--insecure-plaintext-peers",
                                                       "--log-level", "info"], readyLine: "sidecar started")
            #expect(sidecar.contains("sidecar started"), "sidecar: \(sidecar)")
            try body(clientPod, serverPod, python)
        }
    }

    /// The pod's sidecar's `/stats`, read from inside the pod.
    static func sidecarStats(_ pod: NetworkNamespace, python: String) throws -> [String: UInt64] {
        parseStats(try pod.exec([python, "-c", "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:15000/stats').read().decode())"]).output)
    }
}
