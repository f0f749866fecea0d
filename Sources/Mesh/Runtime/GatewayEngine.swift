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

    /// What a terminated connection on `port` carries: HTTP (HTTPS listeners) or bytes to relay
    /// (a TLS Terminate listener with TCPRoutes).
    func listenerProtocol(port: Int) -> GatewayListenerProtocol?

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

/// The real engine: the gateway's `SidecarDriver`'s own `Sidecar`, configured by a
/// `GatewayConfig` (`Sidecar+Gateway`), so that the HTTP listeners' requests and the L4 decisions
/// see one engine and one config.
struct SidecarGatewayEngine: GatewayEngine {
    let driver: SidecarDriver

    mutating func apply(_ config: GatewayConfig) -> ConfigApplyResult {
        let result = driver.engine.applyGateway(config)
        // New upstream TLS policies bring new contexts; old ones go with the old config.
        if case .applied = result {
            driver.gatewayUpstreamContexts = [:]
            // HealthCheckPolicy's first rounds, and whatever else the change implies.
            driver.perform(driver.engine.takeConfigActions())
        }
        return result
    }

    func tlsChoice(port: Int, serverName: String?) -> GatewayTLSChoice {
        driver.engine.gatewayTLS(listenerPort: port, sni: serverName)
    }

    func listenerProtocol(port: Int) -> GatewayListenerProtocol? {
        driver.engine.gatewayListenerProtocol(port: port)
    }

    mutating func connection<R: RandomNumberGenerator>(_ id: ConnectionID, port: Int, transport: GatewayTransport, serverName: String?,
                                                       source: MeshProxy.SocketAddress, now: MeshInstant, random: inout R) -> GatewayConnectionDecision {
        driver.engine.gatewayConnection(id, listenerPort: port, source: source, sni: serverName, now: now, random: &random)
    }

    mutating func connectionClosed(_ id: ConnectionID) {
        // The engine keeps no state per L4 connection yet (GWSHELL-NEEDS: a closed event for
        // least-connection balancing).
    }

    /// The engine's HTTP entry, for `SidecarDriver.gatewayEntry`.
    static func httpEntry(_ engine: inout Sidecar, _ id: ExchangeID, _ head: MeshProxy.HTTPRequestHead, _ origin: GatewayRequestOrigin,
                          _ source: MeshProxy.SocketAddress, _ now: MeshInstant, _ random: inout ShellRandomNumberGenerator) -> [OutboundHTTPAction] {
        engine.gatewayRequest(id, head: head, listenerPort: origin.port, source: source, sni: origin.serverName, now: now, random: &random)
    }
}
