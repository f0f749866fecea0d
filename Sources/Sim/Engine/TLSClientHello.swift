/// The client's side of a modelled TLS handshake: the SNI it sends, what it trusts, and the
/// certificate it presents when the server asks for one.
struct TLSClientHello: Hashable, Sendable {
    var sni: String?
    var trust: TLSTrust
    var clientCertificate: ModelledCertificate?

    /// Whether the client accepts `server`. A CA's certificate is checked by its issuer alone: the
    /// modelled certificates carry no names, so only a public certificate is checked against the SNI.
    func accepts(_ server: ModelledCertificate) -> Bool {
        switch trust {
        case .insecure: true
        case .anchor(let ca): server.publicHost == nil && server.issuer == ca
        case .publicRoots: server.publicHost != nil && server.publicHost == sni
        }
    }

    /// Whether a server that demands a client certificate issued by `clientCA` accepts this client
    /// (GatewayTLSPolicy mTLS; nil: the server asks for none).
    func satisfies(clientCA: String?) -> Bool {
        guard let clientCA else { return true }
        return clientCertificate.map { $0.publicHost == nil && $0.issuer == clientCA } ?? false
    }
}
