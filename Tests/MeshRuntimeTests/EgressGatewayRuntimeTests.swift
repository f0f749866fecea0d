import Foundation
import MeshModel
import MeshRuntime
import MeshShell
import MeshTesting
import NIOCore
import Testing

/// The egress gateway on real sockets (a test address block each; guides 3.8.2): a meshed client sidecar
/// whose config names the gateway sends its egress there, HTTP in absolute form and TCP through a
/// `CONNECT ip:port` tunnel; the gateway (`fsm egress-gateway`'s `SidecarProcess`, the sidecar
/// runtime with `ProxyConfig.egressGateway()`) forwards it to the destination. Pods are .1 and .2,
/// the gateway .50, the outside host .9.
@Suite(.timeLimit(.minutes(1)))
struct EgressGatewayRuntimeTests {
    /// The outside echo server's port.
    static let outsidePort = 8100

    static func client(block: LoopbackBlockLease, gateway: String, egress: Bool = true) -> ProxyConfig {
        var config = MeshPair.clientConfig(serverIP: block.address(2))
        config.spec.enableEgress = egress
        config.spec.egressGateway = EgressGatewaySpec(service: "fsm/fsm-egress-gateway", endpoints: [gateway])
        return config
    }

    static func startGateway(ip: String) async throws -> SidecarProcess {
        let settings = SidecarSettings(podIP: ip, peerTransport: .insecurePlaintext, outboundPort: 0, inboundPort: 0, adminPort: 0, prometheusPort: 0)
        return try await SidecarProcess.start(config: .egressGateway(listenAddress: ip), settings: settings, logger: MeshPair.quietLogger)
    }

    static func stats(of process: SidecarProcess, ip: String) async throws -> [String: UInt64] {
        let port = try #require(process.adminAddress?.port)
        return parseStats(try await MeshHTTP.request(host: ip, port: port, path: "/stats", timeout: .seconds(5)).body)
    }

    /// An outside echo server and the gateway around `body`, stopped whatever happens.
    static func withGateway(block: LoopbackBlockLease, _ body: (_ outsideIP: String, _ gateway: SidecarProcess, _ gatewayIP: String) async throws -> Void) async throws {
        let outsideIP = block.address(9), gatewayIP = block.address(50)
        let outside = EchoApp()
        try await outside.start(host: outsideIP, port: outsidePort)
        let gateway: SidecarProcess
        do {
            gateway = try await startGateway(ip: gatewayIP)
        } catch {
            await outside.stop()
            throw error
        }
        do {
            try await body(outsideIP, gateway, gatewayIP)
        } catch {
            await gateway.shutdown()
            await outside.stop()
            throw error
        }
        await gateway.shutdown()
        await outside.stop()
    }

    /// A tunnel asked straight of the gateway never reaches its own host: its admin port (on its
    /// own address here, as `fsm egress-gateway --bind` on loopback puts it) is refused, while the
    /// outside host beside it is reached.
    @Test func aTunnelToTheGatewaysOwnAdminPortIsRefused() async throws {
        let block = try TestAddressBlock.lease()
        try await Self.withGateway(block: block) { outsideIP, gateway, gatewayIP in
            let tunnelPort = try #require(gateway.outboundAddress?.port)
            let adminPort = try #require(gateway.adminAddress?.port)
            let own = "CONNECT \(gatewayIP):\(adminPort) HTTP/1.1\r\n\r\nGET /stats HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
            let refused = try await TunnelClient.exchange(host: gatewayIP, port: tunnelPort, send: own, expectedBytes: 10_000)
            #expect(!refused.text.contains("Connection Established"), "\(refused.text)")
            #expect(!refused.text.contains("outbound."), "the admin port's stats came through: \(refused.text)")
            let outside = "CONNECT \(outsideIP):\(Self.outsidePort) HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
            let passed = try await TunnelClient.exchange(host: gatewayIP, port: tunnelPort, send: outside, expectedBytes: 10_000)
            #expect(passed.text.hasPrefix("HTTP/1.1 200 Connection Established"), "\(passed.text)")
        }
    }

    @Test func httpAndTCPEgressGoThroughTheGatewayToTheDestination() async throws {
        let block = try TestAddressBlock.lease()
        try await Self.withGateway(block: block) { outsideIP, gateway, gatewayIP in
            let tunnelPort = try #require(gateway.outboundAddress?.port)
            let outside = "\(outsideIP):\(Self.outsidePort)"
            try await MeshPair.run(block: block, client: Self.client(block: block, gateway: "\(gatewayIP):\(tunnelPort)")) { mesh in
                let answer = try await mesh.get("/outside", host: outside)
                #expect(answer.status == 200)
                #expect(answer.body == "GET /outside ")
                // Raw TCP (a CONNECT from the app in local mode): tunnelled through the gateway.
                let request = "CONNECT \(outside) HTTP/1.1\r\n\r\nGET /tunnelled HTTP/1.1\r\nhost: \(outside)\r\nconnection: close\r\n\r\n"
                let tunnelled = try await TunnelClient.exchange(host: mesh.clientIP, port: 15001, send: request, expectedBytes: 10_000)
                #expect(tunnelled.text.hasPrefix("HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.1 200"), "\(tunnelled.text)")
                #expect(tunnelled.text.hasSuffix("GET /tunnelled "))
                let client = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
                #expect(client["outbound.egress_gateway"] == 2)
                #expect(client["cluster.egress|\(outside).upstream_rq_2xx"] == 1)
                // The gateway passed both on to the destination.
                let passed = try await Self.stats(of: gateway, ip: gatewayIP)
                #expect(passed["outbound.egress_passthrough"] == 2)
                #expect(passed["cluster.egress|\(outside).upstream_cx_total"] == 2)
            }
        }
    }

    @Test func egressOffStopsTrafficBeforeTheGateway() async throws {
        let block = try TestAddressBlock.lease()
        try await Self.withGateway(block: block) { outsideIP, gateway, gatewayIP in
            let tunnelPort = try #require(gateway.outboundAddress?.port)
            let client = Self.client(block: block, gateway: "\(gatewayIP):\(tunnelPort)", egress: false)
            try await MeshPair.run(block: block, client: client) { mesh in
                let status = (try? await mesh.get("/outside", host: "\(outsideIP):\(Self.outsidePort)"))?.status
                #expect(status != 200)
                let passed = try await Self.stats(of: gateway, ip: gatewayIP)
                #expect(passed["outbound.egress_passthrough"] ?? 0 == 0)
            }
        }
    }

    @Test func anUnreachableGatewayFailsTheRequestWithUF() async throws {
        let block = try TestAddressBlock.lease()
        let log = try AccessLogTests.LogFile()
        defer { log.remove() }
        // Nothing listens at the gateway's address.
        var client = Self.client(block: block, gateway: block.address(50) + ":1080")
        client.spec.accessLog = true
        try await MeshPair.run(block: block, client: client, tuneClient: { $0.accessLog = log.sink }) { mesh in
            let status = (try? await mesh.get("/outside", host: block.address(9) + ":8080"))?.status
            #expect(status != 200)
            let entries = try await log.entries(count: 1)
            #expect(entries.first?["response_flags"] == .string("UF"), "\(entries)")
        }
    }
}
