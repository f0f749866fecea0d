import MeshModel
import Testing
@testable import MeshProxy

/// The inbound border (issue 13 item 1): without a mesh identity a client is refused unless an
/// AccessControl admits its address (or its certificate's principal); admitted clients take the
/// AccessControl's wildcard route.
@Suite("Inbound border and AccessControl")
struct InboundAdmissionTests {
    static let outsider = SocketAddress(ip: "10.244.0.40", port: 40_000)
    static let stranger = SocketAddress(ip: "10.244.0.41", port: 40_000)
    static let curlPrincipal = "curl.curl.cluster.local"

    /// InboundTests' bookstore (SMI: only bookbuyer on /books-bought), with an AccessControl for
    /// `outsider` and the principal on both ports.
    static func config(allowed: [String]? = [InboundTests.buyer], principals: [String] = [curlPrincipal]) -> ProxyConfig {
        var config = InboundTests.config(allowed: allowed)
        config.inbound.trafficMatches[0].accessControl = InboundAccessControl(
            sourceIPRanges: ["10.244.0.40/32"], authenticatedPrincipals: principals, targetClusters: [WeightedCluster(name: InboundTests.local, weight: 100)])
        config.inbound.trafficMatches[1].accessControl = InboundAccessControl(
            sourceIPRanges: ["10.244.0.40/32"], targetClusters: [WeightedCluster(name: "demo/fortio|8078|local", weight: 100)])
        return config
    }

    @Test func theVerdictsOfTheValue() {
        let none = InboundAdmission.meshOnly
        #expect(none.verdict(peerIdentity: nil, source: "10.244.0.40") == .refused)
        #expect(none.verdict(peerIdentity: InboundTests.buyer, source: "10.244.0.40") == .meshPeer)
        #expect(!none.routesByAccessControl(peerIdentity: nil))
        let admitting = InboundAdmission(sourceRanges: [AddressRange(parsing: "10.244.0.0/30")!], principals: [Self.curlPrincipal],
                                          targets: TargetSet(clusters: [0], balancer: 0))
        #expect(admitting.verdict(peerIdentity: nil, source: "10.244.0.3") == .accessControl)
        #expect(admitting.verdict(peerIdentity: nil, source: "10.244.0.4") == .refused)
        #expect(admitting.verdict(peerIdentity: Self.curlPrincipal, source: "192.0.2.1") == .accessControl)
        #expect(admitting.verdict(peerIdentity: InboundTests.buyer, source: "10.244.0.3") == .meshPeer)
        var any = admitting
        any.anyPrincipal = true
        #expect(any.verdict(peerIdentity: InboundTests.buyer, source: "192.0.2.1") == .accessControl)
    }

    @Test func withoutAnAccessControlPlaintextIsRefusedEvenWhenPermissive() {
        var sidecar = Sidecar(config: InboundTests.config(allowed: nil))
        for (n, port) in [14001, 8078].enumerated() {
            #expect(sidecar.inboundConnection(ConnectionID(UInt64(n)), port: port, source: Self.outsider, peerIdentity: nil, now: .zero) == .close(.accessDenied))
        }
        #expect(sidecar.stats.value("inbound.cx_no_identity") == 2)
        #expect(sidecar.stats.value("inbound.cx_active") == 0)
        // A mesh peer is let in as before.
        #expect(sidecar.inboundConnection(ConnectionID(9), port: 14001, source: Self.outsider, peerIdentity: InboundTests.thief, now: .zero) == .accept)
    }

    @Test func anAccessControlAdmitsItsSourcesToItsWildcardRoute() {
        var sidecar = Sidecar(config: Self.config())
        #expect(sidecar.inboundConnection(ConnectionID(1), port: 14001, source: Self.outsider, peerIdentity: nil, now: .zero) == .accept)
        #expect(sidecar.inboundConnection(ConnectionID(2), port: 14001, source: Self.stranger, peerIdentity: nil, now: .zero) == .close(.accessDenied))
        // Any path: the SMI rules (bookbuyer, /books-bought) do not apply to it.
        var anywhere = InboundTests.request
        anywhere.path = "/get"
        #expect(sidecar.inboundRequest(anywhere, connection: ConnectionID(1), port: 14001, peerIdentity: nil, now: .zero)
            == .forward(cluster: InboundTests.local, endpoint: SocketAddress(ip: "127.0.0.1", port: 14001), appProtocol: .http))
        // A certificate naming the principal: the same route, from any address.
        #expect(sidecar.inboundConnection(ConnectionID(3), port: 14001, source: Self.stranger, peerIdentity: Self.curlPrincipal, now: .zero) == .accept)
        #expect(sidecar.inboundRequest(anywhere, connection: ConnectionID(3), port: 14001, peerIdentity: Self.curlPrincipal, now: .zero)
            == .forward(cluster: InboundTests.local, endpoint: SocketAddress(ip: "127.0.0.1", port: 14001), appProtocol: .http))
        // Mesh peers still meet the SMI policy.
        #expect(sidecar.inboundRequest(anywhere, connection: ConnectionID(4), port: 14001, peerIdentity: InboundTests.buyer, now: .zero)
            == .respond(HTTPResponseHead(status: 403), .accessDenied))
        #expect(sidecar.stats.value("inbound.cx_no_identity") == 1)
    }

    @Test func tcpPortsAdmitSourcesPastTheTCPRouteCheck() {
        var sidecar = Sidecar(config: Self.config())
        #expect(sidecar.inboundConnection(ConnectionID(1), port: 8078, source: Self.outsider, peerIdentity: nil, now: .zero) == .accept)
        #expect(sidecar.inboundConnection(ConnectionID(2), port: 8078, source: Self.stranger, peerIdentity: nil, now: .zero) == .close(.accessDenied))
        // Mesh peers on a TCP port still need a TCPRoute grant.
        #expect(sidecar.inboundConnection(ConnectionID(3), port: 8078, source: Self.outsider, peerIdentity: InboundTests.thief, now: .zero) == .close(.accessDenied))
    }

    @Test func theAccessControlSurvivesItsJSON() throws {
        let config = Self.config(principals: [Self.curlPrincipal, InboundAccessControl.anyPrincipal])
        let json = config.renderedJSON(pretty: false)
        #expect(json.contains(#""AccessControl":{"SourceIPRanges":["10.244.0.40/32"],"AuthenticatedPrincipals":["curl.curl.cluster.local","*"],"#))
        let decoded = try ProxyConfig(jsonText: json)
        for match in config.inbound.trafficMatches {
            #expect(decoded.inbound.trafficMatches.first { $0.port == match.port }?.accessControl == match.accessControl)
        }
    }

    @Test func aBadAccessControlRangeRejectsTheConfigAndKeepsTheLastGood() {
        var sidecar = Sidecar(config: Self.config())
        var bad = Self.config()
        bad.inbound.trafficMatches[0].accessControl?.sourceIPRanges = ["10.244.0.400/32"]
        guard case .rejected(let reason) = sidecar.apply(bad) else {
            Issue.record("a bad range should be rejected")
            return
        }
        #expect(reason.contains("access control source"))
        #expect(sidecar.inboundConnection(ConnectionID(1), port: 14001, source: Self.outsider, peerIdentity: nil, now: .zero) == .accept)
        #expect(sidecar.stats.value("config_rejected") == 1)
    }
}
