import MeshModel
import MeshTesting
import Testing
@testable import MeshProxy

/// The egress gateway forwards what meshed pods' egress lets out, never to its own host: a tunnel
/// naming loopback (its admin and metrics ports), its listen address, link-local (a node's
/// metadata service) or "this network" has no route; an outside destination still goes out.
struct EgressGatewayRefusedRangesTests {
    static let listen = "10.244.9.1"

    @Test(arguments: ["127.0.0.1:15000", "127.9.9.9:1080", "10.244.9.1:15000", "10.244.9.1:15010", "169.254.169.254:80", "0.1.2.3:80"])
    func aTunnelToTheGatewaysOwnHostHasNoRoute(target: String) throws {
        var gateway = Sidecar(config: .egressGateway(listenAddress: Self.listen))
        var random = SeededGenerator(seed: 1)
        let destination = try #require(SocketAddress(parsing: target))
        #expect(gateway.outboundConnection(ConnectionID(1), destination: destination, now: .zero, random: &random) == .reject(.noRoute))
        let request = gateway.outboundRequest(ExchangeID(1), head: Fixture.get("/", host: target), destination: destination, now: .zero, random: &random)
        #expect(request.sends.isEmpty)
    }

    @Test func anOutsideDestinationStillGoesOut() {
        var gateway = Sidecar(config: .egressGateway(listenAddress: Self.listen))
        var random = SeededGenerator(seed: 1)
        let outside = SocketAddress(ip: "203.0.113.10", port: 443)
        #expect(gateway.outboundConnection(ConnectionID(1), destination: outside, now: .zero, random: &random)
            == .connect(cluster: "egress|203.0.113.10:443", endpoint: outside))
    }

    /// Listening on loopback (local mode), its own address and 127.0.0.1 (the admin port) are
    /// refused; the other loopback addresses are the outside hosts of a local run.
    @Test func onLoopbackItRefusesItsOwnAddressAndTheAdminsOnly() throws {
        var gateway = Sidecar(config: .egressGateway(listenAddress: "127.113.1.1"))
        var random = SeededGenerator(seed: 1)
        for target in ["127.113.1.1:15000", "127.0.0.1:15000"] {
            #expect(gateway.outboundConnection(ConnectionID(1), destination: try #require(SocketAddress(parsing: target)), now: .zero, random: &random) == .reject(.noRoute))
        }
        let outside = SocketAddress(ip: "127.113.1.9", port: 8080)
        #expect(gateway.outboundConnection(ConnectionID(2), destination: outside, now: .zero, random: &random)
            == .connect(cluster: "egress|127.113.1.9:8080", endpoint: outside))
    }

    @Test func theRangesTravelInTheConfigAndAMalformedOneIsRefused() throws {
        let config = ProxyConfig.egressGateway(listenAddress: Self.listen)
        #expect(config.spec.egressRefusedRanges == ["127.0.0.0/8", "169.254.0.0/16", "0.0.0.0/8", "10.244.9.1/32"])
        #expect(try ProxyConfig(jsonText: config.renderedJSON()) == config)
        // A sidecar's config carries none (and renders no key).
        #expect(!Fixture.outbound().renderedJSON().contains("EgressRefusedRanges"))
        let bad = config.renderedJSON().replacing("\"10.244.9.1/32\"", with: "\"10.244.9/33\"")
        #expect(throws: ProxyConfigDecodingError.self) { try ProxyConfig(jsonText: bad) }
    }
}
