import MeshModel

/// What the gateway engine decides for a new L4 connection on one of its listeners (TCP, UDP,
/// TLS passthrough by SNI, TLS terminated to a TCPRoute backend): the shell connects (or sends
/// datagrams) to `endpoint` and relays bytes both ways, or closes the client's connection.
public enum GatewayConnectionDecision: Hashable, Sendable {
    case connect(cluster: String, endpoint: SocketAddress)
    case reject(LocalReason)
}

/// What a listener does in its TLS handshake, asked by the shell for the client's SNI before it
/// answers the ClientHello.
public enum GatewayTLSChoice: Hashable, Sendable {
    /// Not a TLS listener: the connection is plain (HTTP, TCP, UDP).
    case plaintext
    /// Terminate TLS presenting `certificate`; with `clientCA` set, the client must present a
    /// certificate that chains to it (GatewayTLSPolicy `mTLS: true`), else the handshake fails.
    case terminate(certificate: GatewayConfig.Certificate, clientCA: String?)
    /// Do not terminate: the bytes go as they are to the backend `gatewayConnection` picks by SNI.
    case passthrough
    /// Fail the handshake (no listener or no certificate for that SNI).
    case reject(LocalReason)
}

/// How the gateway speaks to a cluster's endpoints (UpstreamTLSPolicy), asked by the shell when
/// it opens a connection for a `send` or a `mirror` to that cluster.
public enum GatewayUpstreamSecurity: Hashable, Sendable {
    case plaintext
    /// TLS, verifying the endpoint against `caPEM` (nil: no verification), presenting
    /// `clientCertificate` when the policy asks for mTLS.
    case tls(caPEM: String?, clientCertificate: GatewayConfig.Certificate?)
}
