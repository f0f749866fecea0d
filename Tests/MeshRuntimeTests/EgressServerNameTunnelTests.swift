import Foundation
import MeshModel
import MeshRuntime
import MeshShell
import MeshTesting
import NIOCore
import NIOEmbedded
import NIOSSL
import Testing

/// HTTPS egress by SNI in local mode (DECISIONS 228), on real sockets (a `TestAddressBlock`): an
/// app behind its sidecar as an HTTP proxy (`curl -x`) sends `CONNECT host:443`; where an `https`
/// Egress rule names hosts on the port, the sidecar answers 200, reads the server name of the
/// ClientHello the app sends through the tunnel, and the engine decides with it, as under
/// capture. The outside server is a raw echo: what matters is whether the ClientHello reaches it.
@Suite(.timeLimit(.minutes(1)))
struct EgressServerNameTunnelTests {
    static let established = "HTTP/1.1 200 Connection Established\r\n\r\n"

    /// A client whose Egress rule lets TLS for `allowed.test` out on `port`; egress passthrough off.
    static func client(serverIP: String, port: Int) -> ProxyConfig {
        var config = MeshPair.clientConfig(serverIP: serverIP)
        config.spec.accessLog = true
        config.spec.egressPolicy = EgressPolicySpec(rules: [EgressRule(policy: "curl/allowed-443", port: port, protocol: .https, hosts: ["allowed.test"])])
        return config
    }

    /// The ClientHello NIO's TLS client writes first, naming `serverName`.
    static func clientHello(serverName: String) throws -> [UInt8] {
        let context = try NIOSSLContext(configuration: .makeClientConfiguration())
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        var hello: [UInt8] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { hello += buffer.readableBytesView }
        _ = try? channel.finish()
        return hello
    }

    @Test func aTunnelIsLetOutByTheServerNameOfItsClientHello() async throws {
        let block = try TestAddressBlock.lease(), port = 8443
        let log = try AccessLogTests.LogFile()
        defer { log.remove() }
        let outsideIP = block.address(9)
        let outside = TCPEchoApp()
        try await outside.start(host: outsideIP, port: port, greeting: nil)
        let tune: (inout SidecarSettings) -> Void = { settings in
            settings.accessLog = log.sink
            // DNS outside the cluster: both names at the outside server's address.
            settings.hosts = ["allowed.test": outsideIP, "other.test": outsideIP]
        }
        do {
            try await Self.check(block: block, port: port, tune: tune, log: log)
        } catch {
            await outside.stop()
            throw error
        }
        await outside.stop()
    }

    static func check(block: LoopbackBlockLease, port: Int, tune: (inout SidecarSettings) -> Void, log: AccessLogTests.LogFile) async throws {
        try await MeshPair.run(block: block, client: Self.client(serverIP: block.address(2), port: port), tuneClient: tune) { mesh in
            func tunnel(_ authority: String, id: String, hello: [UInt8]) async throws -> (bytes: [UInt8], closed: Bool) {
                let request = Array("CONNECT \(authority) HTTP/1.1\r\nhost: \(authority)\r\nx-request-id: \(id)\r\n\r\n".utf8)
                return try await TunnelClient.exchange(host: mesh.clientIP, port: 15001, send: request + hello, expectedBytes: Self.established.utf8.count + hello.count)
            }
            // The name the rule lists: the ClientHello reaches the destination, unread, and comes back.
            let allowedHello = try Self.clientHello(serverName: "allowed.test")
            let allowed = try await tunnel("allowed.test:\(port)", id: "r-allowed", hello: allowedHello)
            #expect(allowed.bytes == Array(Self.established.utf8) + allowedHello, "\(String(decoding: allowed.bytes, as: UTF8.self))")
            // Another name on the same address and port: the tunnel opened, then closed on the ClientHello.
            let other = try await tunnel("other.test:\(port)", id: "r-other", hello: try Self.clientHello(serverName: "other.test"))
            #expect(other.bytes == Array(Self.established.utf8) && other.closed, "\(String(decoding: other.bytes, as: UTF8.self))")
            // A port no rule reads names on (egress off): refused at the CONNECT, no answer but the close.
            let unmatched = try await tunnel("other.test:\(port + 1)", id: "r-port", hello: [])
            #expect(unmatched.bytes.isEmpty && unmatched.closed, "\(String(decoding: unmatched.bytes, as: UTF8.self))")

            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["outbound.egress_policy_allowed"] == 1)
            #expect(stats["outbound.no_route"] == 2)
            // Each refusal's log line names its CONNECT's request id and says why: no route.
            let entries = try await log.entries(count: 2)
            let flags = Dictionary(entries.compactMap { entry -> (String, String)? in
                guard case .string(let id)? = entry["x_request_id"], case .string(let flags)? = entry["response_flags"] else { return nil }
                return (id, flags)
            }, uniquingKeysWith: { first, _ in first })
            #expect(flags == ["r-other": "NR", "r-port": "NR"], "\(entries)")
        }
    }
}
