import MeshModel
import Testing
@testable import MeshProxy

/// IngressBackend at the sidecar's border (F2-001, `InboundTrafficMatch.ingress`): an `http`
/// backend admits its sources' addresses without a mesh identity, an `https` one a client
/// certificate naming its principal; admitted clients reach the port's local cluster past the SMI
/// rules, and everyone else without a mesh identity is refused as before.
@Suite("Inbound border and IngressBackend")
struct IngressAdmissionTests {
    static let ingressPod = SocketAddress(ip: "10.244.0.50", port: 40_000)
    static let stranger = SocketAddress(ip: "10.244.0.51", port: 40_000)
    static let ingressPrincipal = "fsm-ingress.fsm-system.cluster.local"

    static func config(_ admission: IngressAdmission) -> ProxyConfig {
        var config = InboundTests.config(allowed: [InboundTests.buyer])
        config.inbound.trafficMatches[0].ingress = admission
        return config
    }

    static let http = IngressAdmission(policies: ["bookstore/bookstore"], sourceIPRanges: ["10.244.0.50/32"])

    @Test func anHTTPBackendAdmitsItsSourceAddressesToTheLocalApp() {
        var sidecar = Sidecar(config: Self.config(Self.http))
        let admissible = sidecar.inboundPlaintextAdmissible(source: Self.ingressPod)
        #expect(admissible)
        #expect(sidecar.inboundConnection(ConnectionID(1), port: 14001, source: Self.ingressPod, peerIdentity: nil, now: .zero) == .accept)
        #expect(sidecar.inboundConnection(ConnectionID(2), port: 14001, source: Self.stranger, peerIdentity: nil, now: .zero) == .close(.accessDenied))
        var anywhere = InboundTests.request
        anywhere.path = "/books-bought"
        #expect(sidecar.inboundRequest(anywhere, connection: ConnectionID(1), port: 14001, peerIdentity: nil, now: .zero)
            == .forward(cluster: InboundTests.local, endpoint: SocketAddress(ip: "127.0.0.1", port: 14001), appProtocol: .http))
        // Another port names no IngressBackend: still mesh peers only.
        #expect(sidecar.inboundConnection(ConnectionID(3), port: 8078, source: Self.ingressPod, peerIdentity: nil, now: .zero) == .close(.accessDenied))
        // A mesh peer still meets the SMI rules.
        #expect(sidecar.inboundConnection(ConnectionID(4), port: 14001, source: Self.stranger, peerIdentity: InboundTests.thief, now: .zero) == .accept)
        #expect(sidecar.inboundRequest(anywhere, connection: ConnectionID(4), port: 14001, peerIdentity: InboundTests.thief, now: .zero)
            != .forward(cluster: InboundTests.local, endpoint: SocketAddress(ip: "127.0.0.1", port: 14001), appProtocol: .http))
    }

    @Test func anHTTPSBackendAdmitsTheCertificateOfItsPrincipalOnly() {
        let https = IngressAdmission(policies: ["bookstore/bookstore"], protocol: .https, sourceIPRanges: ["10.244.0.50/32"], principals: [Self.ingressPrincipal])
        var sidecar = Sidecar(config: Self.config(https))
        #expect(sidecar.inboundConnection(ConnectionID(1), port: 14001, source: Self.stranger, peerIdentity: Self.ingressPrincipal, now: .zero) == .accept)
        #expect(sidecar.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 14001, peerIdentity: Self.ingressPrincipal, now: .zero)
            == .forward(cluster: InboundTests.local, endpoint: SocketAddress(ip: "127.0.0.1", port: 14001), appProtocol: .http))
        // Plaintext from the ingress's address is no certificate.
        #expect(sidecar.inboundConnection(ConnectionID(2), port: 14001, source: Self.ingressPod, peerIdentity: nil, now: .zero) == .close(.accessDenied))
        var skip = https
        skip.skipClientCertValidation = true
        var any = Sidecar(config: Self.config(skip))
        #expect(any.inboundRequest(InboundTests.request, connection: ConnectionID(1), port: 14001, peerIdentity: "other.ns.cluster.local", now: .zero)
            == .forward(cluster: InboundTests.local, endpoint: SocketAddress(ip: "127.0.0.1", port: 14001), appProtocol: .http))
    }

    @Test func aBadIngressRangeRejectsTheConfigAndKeepsTheLastGood() {
        var sidecar = Sidecar(config: Self.config(Self.http))
        var bad = Self.config(IngressAdmission(policies: ["x/y"], sourceIPRanges: ["10.244.0.50/40"]))
        bad.version = "bad"
        guard case .rejected = sidecar.apply(bad) else { Issue.record("a bad range was applied"); return }
        #expect(sidecar.inboundConnection(ConnectionID(1), port: 14001, source: Self.ingressPod, peerIdentity: nil, now: .zero) == .accept)
    }
}
