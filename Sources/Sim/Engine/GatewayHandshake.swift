/// How a connection's handshake at a gateway listener ended.
enum GatewayHandshake {
    /// A plain listener and a plain client.
    case plain
    /// TLS terminated: the request goes on in plain with the client's SNI.
    case terminated(sni: String?)
    /// The bytes go on to the backend the SNI picks.
    case passthrough(sni: String?)
    /// The connection closed; `tls`: the client's handshake failed (counted).
    case failed(tls: Bool)
}
