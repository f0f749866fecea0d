import MeshModel
import MeshProxy

/// What the gateway's shell (`GatewayProcess`) asks of its engine, and nothing more: the shell
/// binds sockets, peeks a ClientHello, terminates TLS with the certificate it is told, relays
/// bytes and datagrams and keeps deadlines and limits; every choice of a route, a backend, an
/// endpoint or a certificate is the engine's (MeshProxy's gateway entry points). The HTTP
/// listeners reach the engine through the sidecar's `SidecarDriver` and its `OutboundHTTPAction`s.
protocol GatewayEngine {
    /// A new config: checked and compiled, or rejected (the last good one stays).
    mutating func apply(_ config: GatewayConfig) -> ConfigApplyResult

    /// A TLS connection on `port` whose ClientHello named `serverName` (nil: no SNI).
    func tlsChoice(port: Int, serverName: String?) -> GatewayTLSChoice

    /// A connection to relay: accepted on a TCP listener `port`, a TLS Passthrough one (with the
    /// ClientHello's `serverName`), or the first datagram of a UDP client (`transport: .udp`).
    mutating func connection<R: RandomNumberGenerator>(_ id: ConnectionID, port: Int, transport: GatewayTransport, serverName: String?,
                                                       source: MeshProxy.SocketAddress, now: MeshInstant, random: inout R) -> GatewayConnectionDecision

    /// A relayed connection (or UDP session) ended.
    mutating func connectionClosed(_ id: ConnectionID)
}

enum GatewayTransport: String, Hashable, Sendable {
    case tcp
    case udp
}

// Until branch gwengine lands: the shapes of its MeshProxy decisions (Proxy/Gateway/GatewayDecisions.swift),
// declared here so that the shell builds against them; deleted when the merge brings MeshProxy's.

/// What the gateway engine decides for a new L4 connection.
enum GatewayConnectionDecision: Hashable, Sendable {
    case connect(cluster: String, endpoint: MeshProxy.SocketAddress)
    case reject(LocalReason)
}

/// What a listener does in its TLS handshake, for the client's SNI.
enum GatewayTLSChoice: Hashable, Sendable {
    case plaintext
    case terminate(certificate: GatewayConfig.Certificate, clientCA: String?)
    case passthrough
    case reject(LocalReason)
}
